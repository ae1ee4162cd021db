"""Qunke's runtime core: composition root, config, channels, ingest, dispatch and CLI."""
