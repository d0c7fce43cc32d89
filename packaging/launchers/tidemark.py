"""PyInstaller entry script of the `tidemark` console executable (the CLI)."""

from app.cli.main import run

run()
