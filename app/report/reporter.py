"""`MigrationReporter`: the seed's reporting API, in Python names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from app.report.model import SLOWEST_N, Report, build_report, read_rollbacks

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner
    from app.report.compare import Comparison


class MigrationReporter:
    """Reports on one runner's database: `generate_report()` and its HTML, JSON, PDF and text forms."""

    def __init__(self, runner: MigrationRunner, environment: str | None = None, *, slowest: int = SLOWEST_N
                 ) -> None:
        self.runner = runner
        self.environment = environment if environment is not None else runner.target.environment
        self.slowest = slowest

    def generate_report(self, *, drift: bool = False, ignore: Sequence[str] = (),
                        say: Callable[[str], None] | None = None) -> Report:
        """Read status and rollback history from the database: the report's data.

        `drift`: also replay the applied migrations on a throwaway server and compare the
        catalogs (app.core.drift, as `tidemark drift`); `say` hears its steps.
        """
        from app.core.connect import connect

        status = self.runner.get_migration_status()
        with connect(self.runner.target) as conn:
            rollbacks = read_rollbacks(conn)
        report = build_report(status, rollbacks, environment=self.environment, slowest_n=self.slowest)
        if drift:
            import dataclasses

            from app.core.drift import check_drift
            from app.report.drift import drift_section

            result = check_drift(self.runner.target, self.runner.migrations_dir, ignore=ignore, say=say)
            report = dataclasses.replace(report, drift=drift_section(self.environment or "the database", result))
        return report

    def generate_html_report(self, report: Report | None = None) -> str:
        """One self-contained HTML page."""
        from app.report import html

        return html.render(report or self.generate_report())

    def generate_json_report(self, report: Report | None = None) -> str:
        """One JSON document (resources/report.schema.json)."""
        from app.report import json_report

        return json_report.render(report or self.generate_report())

    def generate_pdf_report(self, report: Report | None = None) -> bytes:
        """A PDF document."""
        from app.report import pdf

        return pdf.render(report or self.generate_report())

    def generate_console_report(self, report: Report | None = None, *, verbose: bool = False) -> str:
        """Plain text for a terminal or a CI log."""
        from app.report import console

        return console.render(report or self.generate_report(), verbose=verbose)

    @staticmethod
    def compare_environments(environments: Iterable[Any]) -> Comparison:
        """Migrations and schemas of several environments side by side, queried concurrently.

        Takes `(name, runner)` pairs, `{"name": ..., "runner": ...}` dicts (the seed's shape) or
        objects with `.name` and `.runner`.
        """
        from app.report.compare import compare_environments

        return compare_environments(environments)
