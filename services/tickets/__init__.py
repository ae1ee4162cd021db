"""Tickets T<id>: opening, the state machine and its changes, the console's scope, reading and wording."""
