"""Dispatcher middlewares, one concern each."""
