"""The black-box suite: the real processes on the real clock (DESIGN.md §9)."""
