"""`python -m sandbox`: the sandbox CLI."""

from .cli import app

app(prog_name="sandbox")
