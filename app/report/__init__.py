"""Report data and its renderers (console, HTML, JSON, PDF) and environment comparison, on app.core.

`MigrationReporter` is loaded when first used: importing a light module of this package (the CI
format table, for `--help`) must not load the engine and psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.report.reporter import MigrationReporter


def __getattr__(name: str) -> Any:
    if name == "MigrationReporter":
        from app.report.reporter import MigrationReporter

        return MigrationReporter
    raise AttributeError(f"module 'app.report' has no attribute {name!r}")


__all__ = ["MigrationReporter"]
