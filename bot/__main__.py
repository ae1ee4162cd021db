"""`python -m bot` runs the qunke CLI (handy where the venv's scripts are not on PATH)."""

from bot.cli import main

main()
