"""PyInstaller entry script of the `tidemark-gui` windowed executable (the desktop app)."""

from app.gui.app import run

run()
