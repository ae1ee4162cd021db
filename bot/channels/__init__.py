"""Platform adapters: only this package knows wire formats."""
