"""The report's data and renderers on hand-made statuses (no database): figures, warnings, escaping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema

from app.core.status import Health, MigrationInfo, MigrationStatus, State
from app.paths import resources_dir
from app.report import console, html, json_report, pdf
from app.report.model import RollbackEvent, build_report

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EVIL = "20260101000009_<script>alert(1)</script>.sql"


def _applied(i: int, ms: int, batch: str, **kw: object) -> MigrationInfo:
    return MigrationInfo(f"202601010000{i:02d}", f"202601010000{i:02d}_m{i}.sql", kw.pop("state", State.APPLIED),
                         title=f"m{i}", batch_id=batch, executed_at=T0 + timedelta(days=i // 3, seconds=i),
                         execution_time_ms=ms, rollback_kind=kw.pop("rollback_kind", "generated"),
                         checksum=f"{i:064x}", applied_checksum=f"{i:064x}", **kw)  # type: ignore[arg-type]


def _status() -> MigrationStatus:
    infos = [
        _applied(1, 10, "b1"), _applied(2, 30, "b1"), _applied(3, 20, "b1", rollback_kind="manual"),
        _applied(4, 90_000, "b2"), _applied(5, 0, "b2", baselined=True),
        MigrationInfo("20260101000009", EVIL, State.MISSING, title="<b>bold</b>", batch_id="b2",
                      executed_at=T0 + timedelta(days=3), execution_time_ms=70, rollback_kind="generated",
                      applied_checksum="e" * 64),
        MigrationInfo("20260101000010", "20260101000010_next.sql", State.PENDING, title="next", checksum="f" * 64),
    ]
    return MigrationStatus(infos, Health.WARNING, [], True, "17.2", "app", "deploy@db:5432/app", "migrations",
                           slow_threshold_ms=60_000)


def test_figures_batches_and_warnings() -> None:
    rb = [RollbackEvent("20260101000008_gone.sql", "20260101000008", T0, 5, "rb1", "deploy", "alice", "pc",
                        "DROP TABLE gone;")]
    r = build_report(_status(), rb, environment="production", slowest_n=3)
    p = r.performance
    # Baselined migrations did not run: left out of the figures.
    assert p.measured == 5 and p.total_ms == 10 + 30 + 20 + 90_000 + 70
    assert p.median_ms == 30 and p.average_ms == round(p.total_ms / 5, 1)
    assert [t.execution_time_ms for t in p.slowest] == [90_000, 70, 30]
    assert [(b.batch_id, b.count, b.total_ms) for b in r.batches] == [("b1", 3, 60), ("b2", 3, 90_070)]
    assert [t.execution_time_ms for t in p.per_batch] == [60, 90_070]
    assert r.counts == {"applied": 5, "pending": 1, "modified": 0, "missing": 1, "failed": 0, "total": 7}
    codes = {w.code: w for w in r.warnings}
    assert codes["slow"].migrations == ("20260101000004_m4.sql",)
    assert codes["manual_rollback"].migrations == ("20260101000003_m3.sql",)
    assert codes["missing"].migrations == (EVIL,)
    assert codes["pending"].migrations == ("20260101000010_next.sql",)
    assert sum(d.count for d in r.timeline) == 6


def test_every_renderer_takes_hostile_names() -> None:
    r = build_report(_status(), environment="<i>prod</i>")
    page = html.render(r)
    assert "<script>" not in page and "<b>bold" not in page and "<i>prod" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3, "table, chart label and its tooltip, as text"
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    doc = json.loads(json_report.render(r))
    jsonschema.validate(doc, json.loads((resources_dir() / "report.schema.json").read_text(encoding="utf-8")))
    assert doc["migrations"][5]["name"] == EVIL
    assert EVIL in console.render(r, verbose=True)
    data = pdf.render(r)
    assert data.startswith(b"%PDF-")


def test_empty_database_report() -> None:
    status = MigrationStatus([], Health.HEALTHY, [], False, "15.4", "app", "u@h:5432/app", "migrations")
    r = build_report(status)
    assert r.performance.measured == 0 and r.performance.median_ms == 0 and r.batches == ()
    assert [w.code for w in r.warnings] == ["no_history"]
    page = html.render(r)
    assert page.count("<svg") == 3 and "nothing applied yet" in page
    assert pdf.render(r).startswith(b"%PDF-")
