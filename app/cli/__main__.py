"""`python -m app.cli`: the same as the `tidemark` console script."""

from app.cli.main import run

run()
