"""Sqitch's registry: `sqitch.changes`, one row per deployed change of each project (`sqitch.projects`).

Its columns, as Sqitch's PostgreSQL registry creates them (lib/App/Sqitch/Engine/pg.sql):
change_id text PRIMARY KEY, script_hash text, change text, project text REFERENCES projects,
note, committed_at timestamptz, committer_name, committer_email, planned_at, planner_name,
planner_email. `revert` deletes the row, and a failed deploy is reverted (and logged in
sqitch.events), so a row is a deployed change. Only the rows of the plan's project
(`%project=` in sqitch.plan) are read.

A reworked change has one row per plan entry, all under the change's name with different
change_ids; they are matched to the name's plan entries in deploy order.

script_hash is the SHA-1 of the deploy script's bytes (App::Sqitch::Plan::Change). A registry
upgraded from 1.0 copied change_id into it: such a hash says nothing and is not compared.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import psycopg
from psycopg import sql

from app.core.errors import FileProblem, MigrationFileError
from app.core.files import MigrationFile
from app.core.imports.common import NotTheirs, Seen, ident, no_file, require
from app.core.layouts.sqitch import sqitch_name

TOOL = "Sqitch"
TABLE = "sqitch.changes"
_PROJECT = re.compile(r"^%project=(\S+)\s*$", re.MULTILINE)


def project_of(plan: Path) -> str:
    """The project the plan names (`%project=flipr`)."""
    try:
        m = _PROJECT.search(plan.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationFileError([FileProblem(plan, f"cannot be read: {exc}")]) from None
    if m is None:
        raise MigrationFileError([FileProblem(plan, "names no project (%project=NAME)",
                                              hint="add the %project pragma Sqitch writes at its top")])
    return m[1]


def read(conn: psycopg.Connection, files: list[MigrationFile], folder: Path, table: str = TABLE) -> list[Seen]:
    """The plan's changes Sqitch deployed, each script compared with its script_hash."""
    require(conn, table, TOOL, ["change_id", "script_hash", "change", "project"])
    if not (folder / "sqitch.plan").is_file():
        raise NotTheirs(f"{folder} has no sqitch.plan, so {table} is no history of these files (import from "
                        "the Sqitch project's folder: --migrations-dir); nothing was imported")
    project = project_of(folder / "sqitch.plan")
    name = ident(table)
    rows = conn.execute(sql.SQL("SELECT change, script_hash, change_id FROM {} WHERE project = %s "
                                "ORDER BY committed_at, change_id").format(name), (project,)).fetchall()
    if not rows and conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()[0]:
        others = [r[0] for r in conn.execute(sql.SQL("SELECT DISTINCT project FROM {} ORDER BY 1").format(name))]
        raise NotTheirs(f"{table} holds changes of {', '.join(others)}, none of {project} (the project of "
                            f"{folder / 'sqitch.plan'}): check --migrations-dir; nothing was imported")
    # A reworked change has a row per plan entry under one name (its change_id differs): the rows of
    # a name, in the order Sqitch deployed them, are that name's plan entries in plan order.
    entries: dict[str, list[MigrationFile]] = {}
    for f in files:
        entries.setdefault(sqitch_name(f.name), []).append(f)
    missing = [name for name, _, _ in rows if not entries.get(name)]
    taken: dict[str, int] = {}
    for name, _, _ in rows:
        taken[name] = taken.get(name, 0) + 1
    missing += [f"{name} (deployed {n} times, planned {len(entries.get(name, []))})"
                for name, n in taken.items() if entries.get(name) and n > len(entries[name])]
    if missing:
        raise no_file(table, missing, folder)
    out = []
    seen: dict[str, int] = {}
    for name, script_hash, change_id in rows:
        f = entries[name][seen.get(name, 0)]
        seen[name] = seen.get(name, 0) + 1
        if not script_hash or script_hash == change_id:
            out.append(Seen(f))
            continue
        ours = hashlib.sha1(f.path.read_bytes()).hexdigest()  # Sqitch's own hash, to compare with it
        out.append(Seen(f, f"sqitch-sha1:{script_hash}", ours != script_hash))
    return out
