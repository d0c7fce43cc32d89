"""Report data and its renderers (console, HTML, JSON, PDF) and environment comparison, on app.core."""

from app.report.reporter import MigrationReporter

__all__ = ["MigrationReporter"]
