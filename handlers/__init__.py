"""Inbound feature handlers; each subpackage exports `router`."""
