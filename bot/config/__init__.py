"""Typed, frozen settings parsed once from config.yaml plus the environment, one module per group of sections."""
