"""The one table of CI output formats: which renderer writes each, and which commands offer it.

A command builds a CheckRun (app/report/checks.py) and asks here; no command knows a format.
Renderers are imported when chosen, so `status` does not load the XML library.
"""

from __future__ import annotations

import importlib

from app.report.checks import CheckRun

# name -> (module with render(CheckRun) -> str, the commands that offer it; None: every one).
# The formats in FLEET also have render_all(list[CheckRun]) for a fleet.
FORMATS: dict[str, tuple[str, frozenset[str] | None]] = {
    "junit": ("app.report.junit", None),
    "github": ("app.report.github", None),
    "sarif": ("app.report.sarif", frozenset({"lint"})),
}

TEXT = "text"  # the human output, the default


def names_for(command: str) -> list[str]:
    """The formats a command offers, `text` first."""
    return [TEXT, *(n for n, (_, only) in FORMATS.items() if only is None or command in only)]


FLEET = frozenset({"junit", "github"})  # the formats with a render_all(list[CheckRun]): one run per target


def render(name: str, run: CheckRun | list[CheckRun]) -> str:
    """The document of format `name` for a run, or for a fleet's runs (one per target)."""
    module, _ = FORMATS[name]
    renderer = importlib.import_module(module)
    return str(renderer.render_all(run) if isinstance(run, list) else renderer.render(run))
