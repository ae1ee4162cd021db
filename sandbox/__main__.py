"""`python -m sandbox`: the sandbox CLI."""

from sandbox.cli import app

app(prog_name="sandbox")
