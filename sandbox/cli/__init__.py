"""The sandbox CLI (`python -m sandbox`, `qunke sandbox`): serve, inspect and act on a running sandbox."""
