"""Comparing environments: a migrations x environments matrix and schema drift, read concurrently.

Each environment is read on its own thread with its own connections, so comparing five takes
about as long as the slowest one. One that cannot be reached is reported as such; the others
are still compared.

Drift: environments whose applied migrations agree (same versions, same checksums) should
have the same catalog. Each such group is diffed against its first member, object by object;
a difference there means someone changed the schema outside the migrations.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import __version__
from app.core.errors import ConnectionFailed, TidemarkError
from app.schema_words import difference_words

if TYPE_CHECKING:
    from app.core.catalog import CatalogSnapshot
    from app.core.runner import MigrationRunner
    from app.core.status import MigrationStatus

COMPARE_SCHEMA_VERSION = "1"
ABSENT = "absent"  # neither a file nor a history row in that environment


@dataclass(frozen=True)
class EnvironmentResult:
    """What was read from one environment, or why nothing could be."""

    name: str
    target: str
    reachable: bool
    error: str | None
    server_version: str | None
    health: str | None
    counts: dict[str, int] | None
    elapsed_ms: float
    catalog_objects: int | None = None
    catalog_error: str | None = None

    @property
    def label(self) -> str:
        """`unreachable`, `error` or the health word."""
        if not self.reachable:
            return "unreachable" if self.error and self.error.startswith("cannot") else "error"
        return self.health or "?"


@dataclass(frozen=True)
class Cell:
    """One migration in one environment."""

    state: str
    checksum: str | None  # applied checksum when applied, else the file's


@dataclass(frozen=True)
class MatrixRow:
    """One migration across the environments (None: environment not read)."""

    version: str
    name: str
    cells: tuple[Cell | None, ...]
    same_state: bool
    same_checksum: bool

    @property
    def differs(self) -> bool:
        """True when the environments do not agree on this migration."""
        return not (self.same_state and self.same_checksum)


@dataclass(frozen=True)
class Difference:
    """One line of "what differs", for people and scripts."""

    kind: str  # state, checksum, drift, unreachable
    subject: str
    message: str


@dataclass(frozen=True)
class DriftItem:
    """One catalog object that differs from the reference environment although migrations agree."""

    key: str
    kind: str  # added / removed / changed, seen from the reference
    reference: str
    environment: str
    before: str | None  # the reference's definition
    after: str | None  # the environment's

    @property
    def words(self) -> str:
        """`production lacks index public.x; staging has it` (app/schema_words.py, as everywhere)."""
        return difference_words(self.key, self.environment, self.after, self.reference, self.before)


@dataclass(frozen=True)
class Comparison:
    """The comparison of several environments."""

    generated_at: datetime
    environments: tuple[EnvironmentResult, ...]
    matrix: tuple[MatrixRow, ...]
    differences: tuple[Difference, ...]
    drift: tuple[DriftItem, ...]
    drift_groups: tuple[tuple[str, ...], ...]  # environments whose migrations agree
    elapsed_ms: float
    tool_version: str = __version__
    schema_version: str = COMPARE_SCHEMA_VERSION

    @property
    def names(self) -> tuple[str, ...]:
        """Environment names in the order given."""
        return tuple(e.name for e in self.environments)

    @property
    def differ(self) -> bool:
        """True when migrations or schemas differ among the environments that could be read."""
        return any(d.kind != "unreachable" for d in self.differences)

    @property
    def unreachable(self) -> tuple[EnvironmentResult, ...]:
        """Environments that could not be read."""
        return tuple(e for e in self.environments if not e.reachable)

    @property
    def equal(self) -> bool:
        """Every environment read, and all agree."""
        return not self.differences

    @property
    def differing_rows(self) -> tuple[MatrixRow, ...]:
        """Matrix rows where the environments disagree."""
        return tuple(r for r in self.matrix if r.differs)

    def exit_code(self) -> int:
        """1 when they differ, 2 when one could not be read (and the rest agree), 0 when equal."""
        if self.differ:
            return 1
        return 2 if self.unreachable else 0


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    result: EnvironmentResult
    status: MigrationStatus | None
    catalog: CatalogSnapshot | None


def _pairs(environments: Iterable[Any]) -> list[tuple[str, MigrationRunner, str | None]]:
    """(name, runner, why it cannot be reached or None) of dicts, pairs or fleet members."""
    out = []
    for e in environments:
        if isinstance(e, dict):
            out.append((str(e["name"]), e["runner"], None))
        elif isinstance(e, tuple | list):
            out.append((str(e[0]), e[1], None))
        else:
            out.append((str(e.name), e.runner, getattr(e, "unreachable", None)))
    names = [n for n, _, _ in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        from app.core.errors import UsageError

        raise UsageError(f"environment named twice: {', '.join(dupes)}")
    return out


def _read_one(name: str, runner: MigrationRunner, unreachable: str | None = None) -> _Read:
    start = time.perf_counter()
    target = runner.target.display()

    def ms() -> float:
        return (time.perf_counter() - start) * 1000

    if unreachable is not None:  # a fleet member whose targets could not be listed: never read its base
        return _Read(EnvironmentResult(name, target, False, " ".join(unreachable.split()), None, None, None, ms()),
                     None, None)
    try:
        status = runner.get_migration_status()
    except TidemarkError as exc:
        return _Read(EnvironmentResult(name, target, False, " ".join(exc.message.split()), None, None, None, ms()),
                     None, None)
    except Exception as exc:  # a driver error on one environment must not sink the others
        from app.core.errors import redact

        text = redact(str(exc)).strip().splitlines()
        return _Read(EnvironmentResult(name, target, False, f"{type(exc).__name__}: {text[0] if text else ''}",
                                       None, None, None, ms()), None, None)
    catalog = None
    catalog_error = None
    try:
        from app.core import catalog as catalog_mod
        from app.core.connect import connect

        with connect(runner.target) as conn:
            schema = getattr(runner.target, "schema", None)
            catalog = catalog_mod.tenant_snapshot(conn, schema) if schema else catalog_mod.snapshot(conn)
    except ImportError:
        catalog_error = "catalog snapshots are not available in this build"
    except ConnectionFailed as exc:
        catalog_error = exc.message
    except Exception as exc:  # drift is extra: report why it is missing, keep the migration matrix
        catalog_error = f"catalog could not be read: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    result = EnvironmentResult(
        name, target, True, None, status.server_version, status.health.value, status.counts, ms(),
        len(catalog.objects) if catalog is not None else None, catalog_error,
    )
    return _Read(result, status, catalog)


def read_environments(environments: Iterable[Any]) -> list[_Read]:
    """Read every environment at once (one thread each), in the order given."""
    pairs = _pairs(environments)
    if not pairs:
        return []
    with ThreadPoolExecutor(max_workers=len(pairs), thread_name_prefix="tidemark-compare") as pool:
        return list(pool.map(lambda p: _read_one(*p), pairs))


def compare_environments(environments: Iterable[Any]) -> Comparison:
    """Read every environment at once (one thread each) and compare them."""
    start = time.perf_counter()
    reads = read_environments(environments)
    return build_comparison(reads, elapsed_ms=(time.perf_counter() - start) * 1000)


# --- comparing ----------------------------------------------------------------------------------


def _cell(m: Any) -> Cell:
    return Cell(m.state.value, m.applied_checksum if m.is_applied else m.checksum)


def build_comparison(reads: list[_Read], *, elapsed_ms: float = 0.0,
                     generated_at: datetime | None = None) -> Comparison:
    """The matrix, the differences and the drift of what was read (pure)."""
    names = [r.result.name for r in reads]
    differences: list[Difference] = [
        Difference("unreachable", r.result.name, f"{r.result.name}: {r.result.error}")
        for r in reads if not r.result.reachable
    ]
    # Every migration any environment knows, by version.
    known: dict[str, str] = {}
    per_env: list[dict[str, Any] | None] = []
    for r in reads:
        if r.status is None:
            per_env.append(None)
            continue
        by_version = {m.version: m for m in r.status.migrations}
        per_env.append(by_version)
        for v, m in by_version.items():
            known.setdefault(v, m.name)
    rows = []
    for version in sorted(known):
        cells: list[Cell | None] = []
        for env in per_env:
            if env is None:
                cells.append(None)
            else:
                m = env.get(version)
                cells.append(_cell(m) if m is not None else Cell(ABSENT, None))
        read = [c for c in cells if c is not None]
        states = {c.state for c in read}
        applied_sums = {c.checksum for c in read if c.state in ("applied", "modified", "missing")}
        same_state = len(states) <= 1
        same_sum = len(applied_sums) <= 1
        row = MatrixRow(version, known[version], tuple(cells), same_state, same_sum)
        rows.append(row)
        if not same_state:
            where = ", ".join(f"{n} {c.state}" for n, c in zip(names, cells, strict=True) if c is not None)
            differences.append(Difference("state", row.name, f"{row.name}: {where}"))
        elif not same_sum:
            where = ", ".join(f"{n} {(c.checksum or '')[:12]}" for n, c in zip(names, cells, strict=True)
                              if c is not None)
            differences.append(Difference("checksum", row.name, f"{row.name}: applied with different "
                                          f"checksums: {where}"))
    drift, groups = _drift(reads)
    for d in drift:
        differences.append(Difference("drift", d.key, d.words))
    return Comparison(
        generated_at=generated_at or datetime.now(UTC),
        environments=tuple(r.result for r in reads),
        matrix=tuple(rows),
        differences=tuple(differences),
        drift=tuple(drift),
        drift_groups=groups,
        elapsed_ms=elapsed_ms,
    )


def _signature(status: MigrationStatus) -> tuple[tuple[str, str | None], ...]:
    return tuple((m.version, m.applied_checksum) for m in status.migrations if m.is_applied)


def _drift(reads: list[_Read]) -> tuple[list[DriftItem], tuple[tuple[str, ...], ...]]:
    from app.core.catalog import diff

    groups: dict[tuple, list[_Read]] = {}
    for r in reads:
        if r.status is not None and r.catalog is not None:
            groups.setdefault(_signature(r.status), []).append(r)
    out: list[DriftItem] = []
    for members in groups.values():
        ref = members[0]
        assert ref.catalog is not None
        for other in members[1:]:
            assert other.catalog is not None
            for d in diff(ref.catalog, other.catalog):
                out.append(DriftItem(d.key, d.kind, ref.result.name, other.result.name, d.before, d.after))
    return out, tuple(tuple(m.result.name for m in members) for members in groups.values())


# --- JSON ---------------------------------------------------------------------------------------


def comparison_json(c: Comparison) -> str:
    """The JSON document of a comparison (`compare --json` and the app's export write this)."""
    import json

    from app.core.text import json_safe

    return json_safe(json.dumps(comparison_dict(c), indent=2, ensure_ascii=False)) + "\n"


def comparison_dict(c: Comparison) -> dict[str, Any]:
    """The comparison as JSON-ready values (resources/compare.schema.json)."""
    return {
        "schema_version": c.schema_version,
        "tool_version": c.tool_version,
        "generated_at": c.generated_at.isoformat(),
        "elapsed_ms": round(c.elapsed_ms, 1),
        "equal": c.equal,
        "differ": c.differ,
        "environments": [
            {
                "name": e.name, "target": e.target, "reachable": e.reachable, "status": e.label,
                "error": e.error, "server_version": e.server_version, "health": e.health,
                "counts": e.counts, "elapsed_ms": round(e.elapsed_ms, 1), "catalog_objects": e.catalog_objects,
                "catalog_error": e.catalog_error,
            }
            for e in c.environments
        ],
        "matrix": [
            {
                "version": r.version, "name": r.name, "same_state": r.same_state,
                "same_checksum": r.same_checksum, "differs": r.differs,
                "cells": {
                    n: (None if cell is None else {"state": cell.state, "checksum": cell.checksum})
                    for n, cell in zip(c.names, r.cells, strict=True)
                },
            }
            for r in c.matrix
        ],
        "differences": [{"kind": d.kind, "subject": d.subject, "message": d.message} for d in c.differences],
        "drift_groups": [list(g) for g in c.drift_groups],
        "drift": [
            {"key": d.key, "kind": d.kind, "reference": d.reference, "environment": d.environment,
             "before": d.before, "after": d.after}
            for d in c.drift
        ],
    }
