"""Persisting the sandbox's state: the state file, the dataclass codec and the whole-corp snapshot."""
