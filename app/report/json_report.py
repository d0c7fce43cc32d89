"""The report as one JSON document: schema "1" (resources/report.schema.json), stable keys.

Keys are written out here one by one, not dumped from the dataclasses, so renaming a field
in Python never changes the documented format by accident.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from app.core.status import MigrationInfo
from app.report.drift import drift_dict
from app.report.model import Batch, Report, RollbackEvent, Timed


def _t(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _timed(t: Timed, key: str = "name") -> dict[str, Any]:
    return {key: t.name, "execution_time_ms": t.execution_time_ms}


def _migration(m: MigrationInfo) -> dict[str, Any]:
    return {
        "version": m.version,
        "name": m.name,
        "title": m.title,
        "state": m.state.value,
        "batch_id": m.batch_id,
        "executed_at": _t(m.executed_at),
        "execution_time_ms": m.execution_time_ms,
        "checksum": m.checksum,
        "applied_checksum": m.applied_checksum,
        "rollback_kind": m.rollback_kind,
        "applied_by": m.applied_by,
        "baselined": m.baselined,
    }


def _batch(b: Batch) -> dict[str, Any]:
    return {
        "batch_id": b.batch_id,
        "started_at": _t(b.started_at),
        "finished_at": _t(b.finished_at),
        "count": b.count,
        "total_ms": b.total_ms,
        "migrations": list(b.migrations),
    }


def _rollback(r: RollbackEvent) -> dict[str, Any]:
    return {
        "migration": r.migration,
        "version": r.version,
        "rolled_back_at": _t(r.rolled_back_at),
        "execution_time_ms": r.execution_time_ms,
        "batch_id": r.batch_id,
        "rolled_back_by": r.rolled_back_by,
        "os_user": r.os_user,
        "client_host": r.client_host,
        "rollback_sql": r.rollback_sql,
    }


def report_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready values, in the documented key order."""
    p = report.performance
    return {
        "schema_version": report.schema_version,
        "tool_version": report.tool_version,
        "generated_at": _t(report.generated_at),
        "environment": report.environment,
        "server": {
            "version": report.server.version,
            "database": report.server.database,
            "target": report.server.target,
        },
        "migrations_dir": report.migrations_dir,
        "history_exists": report.history_exists,
        "health": {
            "status": report.health,
            "reasons": [
                {"level": r.level, "code": r.code, "message": r.message, "migration": r.migration}
                for r in report.reasons
            ],
        },
        "counts": dict(report.counts),
        "migrations": [_migration(m) for m in report.migrations],
        "batches": [_batch(b) for b in report.batches],
        "rollbacks": [_rollback(r) for r in report.rollbacks],
        "performance": {
            "total_ms": p.total_ms,
            "average_ms": p.average_ms,
            "median_ms": p.median_ms,
            "measured": p.measured,
            "slow_threshold_ms": p.slow_threshold_ms,
            "slowest": [_timed(t) for t in p.slowest],
            "per_batch": [{"batch_id": t.name, "total_ms": t.execution_time_ms} for t in p.per_batch],
        },
        "timeline": [{"date": d.day.isoformat(), "count": d.count} for d in report.timeline],
        "warnings": [
            {"level": w.level, "code": w.code, "message": w.message, "migrations": list(w.migrations)}
            for w in report.warnings
        ],
        "drift": drift_dict(report.drift),
    }


def _dump(value: Any, level: int = 0) -> str:
    """Objects indented two spaces; each array item compact on its own line."""
    if isinstance(value, dict) and value:
        pad = "\n" + "  " * (level + 1)
        items = [f"{json.dumps(k)}: {_dump(v, level + 1)}" for k, v in value.items()]
        return "{" + pad + ("," + pad).join(items) + "\n" + "  " * level + "}"
    if isinstance(value, list) and value:
        pad = "\n" + "  " * (level + 1)
        # The C encoder, one call per item: json.dumps(indent=...) runs in pure Python (~1 s per 10,000 rows).
        return "[" + pad + ("," + pad).join(json.dumps(v, ensure_ascii=False) for v in value) + "\n" \
            + "  " * level + "]"
    return json.dumps(value, ensure_ascii=False)


def render(report: Report) -> str:
    """The JSON text: objects indented, one line per migration, batch or warning; UTF-8 kept as is
    (but DEL, C1 and bidi controls, which json leaves raw, as \\u escapes: a `cat` shows no surprise)."""
    from app.core.text import json_safe

    return json_safe(_dump(report_dict(report))) + "\n"
