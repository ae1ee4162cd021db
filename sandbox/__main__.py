"""`python -m sandbox`: the sandbox CLI."""

from sandbox.cli.main import app

app(prog_name="sandbox")
