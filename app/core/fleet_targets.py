"""A fleet's targets: environments expanded to every database or schema matching a pattern, and shards.

A profile with `databases = "tenant_%"` stands for every database of its server whose name is
LIKE the pattern (templates and databases that refuse connections left out), each a target of
its own named `ENV/DBNAME`, with the profile's login, folder and protection. With
`schemas = "tenant_%"` it stands for every schema of its database LIKE the pattern (`ENV/SCHEMA`,
or `ENV/DBNAME/SCHEMA` with both patterns): a schema target keeps its history, lock and
search_path in its schema (app/core/place.py). Every member of one environment shares one read
of the migrations folder (SharedReadings).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg
from psycopg import conninfo

from app.core.connect import Target, connect
from app.core.errors import ConnectionFailed, UsageError
from app.core.fleet import Member

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner
    from app.core.shared_reading import SharedReadings

_LIST = ("SELECT datname FROM pg_database WHERE datname LIKE %s AND datallowconn AND NOT datistemplate "
         "ORDER BY datname")


# Catalog schemas never count: pg_catalog, information_schema, pg_toast, temporary schemas.
_SCHEMAS = ("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname LIKE %s AND nspname <> 'information_schema' "
            "AND nspname NOT LIKE 'pg\\_%%' ORDER BY nspname")


def _matching(target: Target, what: str, query: str, pattern: str) -> list[str]:
    """The names `query` lists LIKE `pattern` ("databases" or "schemas"); UsageError when none matches."""
    try:
        with connect(target) as conn:
            names = [r[0] for r in conn.execute(query, (pattern,)).fetchall()]
    except ConnectionFailed as exc:
        raise ConnectionFailed(f"cannot list the {what} of {target.environment}: {exc.message}") from None
    except psycopg.Error as exc:
        raise UsageError(f"cannot list the {what} of {target.environment}: {str(exc).strip()}") from None
    if not names:
        raise UsageError(f"environment {target.environment}: no {what[:-1]} of {target.display()} matches "
                         f"{pattern!r} (a LIKE pattern: % for any text, _ for one character)")
    return names


def expand_databases(target: Target, pattern: str) -> list[Target]:
    """One target per database of the server LIKE `pattern`; UsageError when none matches."""
    return [_in_database(target, name) for name in _matching(target, "databases", _LIST, pattern)]


def _in_database(target: Target, name: str) -> Target:
    dsn = conninfo.make_conninfo("", **{**conninfo.conninfo_to_dict(target.dsn), "dbname": name})
    return replace(target, dsn=dsn, environment=f"{target.environment}/{name}")


def expand_schemas(target: Target, pattern: str) -> list[Target]:
    """One target per schema of the database LIKE `pattern` (`ENV/SCHEMA`); UsageError when none matches."""
    from app.core.place import Place

    names = _matching(target, "schemas", _SCHEMAS, pattern)
    for name in names:
        Place(name)  # a name Tidemark cannot keep history under: the one-line error, before anything runs
    return [replace(target, schema=name, environment=f"{target.environment}/{name}") for name in names]


def expand(target: Target, databases: str | None = None, schemas: str | None = None) -> list[Target]:
    """The targets an environment stands for: itself, its databases, its schemas, or each database's schemas."""
    targets = expand_databases(target, databases) if databases else [target]
    if not schemas:
        return targets
    return [t for db in targets for t in expand_schemas(db, schemas)]


def stands_for_many(name: str, databases: str | None, schemas: str | None) -> str:
    """Why a profile with patterns is no single target, and what to type instead."""
    if databases and schemas:
        what, one = f"schema LIKE {schemas!r} of every database LIKE {databases!r} of its server", "DATABASE/SCHEMA"
    elif databases:
        what, one = f"database LIKE {databases!r} of its server", "DATABASE"
    else:
        what, one = f"schema LIKE {schemas!r} of its database", "SCHEMA"
    return (f"environment {name!r} stands for every {what}, and this acts on one target: name one as "
            f"{name}/{one}, or act on each with `--environments {name}`")


def member_target(target: Target, member: str, databases: str | None, schemas: str | None) -> Target:
    """The one target `ENV/DATABASE`, `ENV/SCHEMA` or `ENV/DATABASE/SCHEMA` names (as a fleet names its
    members); UsageError when the profile has no such pattern or the name does not match it."""
    from app.core.place import Place

    name = f"{target.environment}/{member}"
    parts = member.split("/")
    wanted = ["database"] * bool(databases) + ["schema"] * bool(schemas)
    if not wanted:
        raise UsageError(f"environment {target.environment!r} is one target (no databases or schemas pattern): "
                         f"name it as {target.environment}, not {name}")
    if len(parts) != len(wanted) or not all(parts):
        raise UsageError(f"{name}: environment {target.environment} names one of its targets as "
                         f"{target.environment}/{'/'.join(w.upper() for w in wanted)}")
    for kind, value, pattern in zip(wanted, parts, [p for p in (databases, schemas) if p], strict=True):
        if not _like(value, pattern):
            raise UsageError(f"{name}: {kind} {value!r} is not one of environment {target.environment}'s "
                             f"(its {kind}s pattern is {pattern!r})")
    one = target
    if databases:
        one = _in_database(target, parts[0])
    if schemas:
        Place(parts[-1])  # a name Tidemark cannot keep history under: the one-line error
        one = replace(one, schema=parts[-1])
    return replace(one, environment=name)


def _like(value: str, pattern: str) -> bool:
    """SQL's `value LIKE pattern` (backslash escapes), as the server would match it."""
    out, escaped = [], False
    for ch in pattern:
        if escaped:
            out.append(re.escape(ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.fullmatch("".join(out), value, re.DOTALL) is not None


def members_of(name: str, runner: MigrationRunner, pattern: str | None, schemas: str | None = None,
               readings: SharedReadings | None = None, *, keep_unreachable: bool = False) -> list[Member]:
    """The fleet members an environment stands for: itself, or each database/schema matching its patterns.

    `readings`: the fleet's shared folder reads (one is made for this environment's members if None).
    `keep_unreachable`: a server that cannot be reached to list them gives one member that fails
    with that reason (the fleet's other targets go on by its stop rule) instead of ConnectionFailed.
    """
    from app.core.runner import MigrationRunner
    from app.core.shared_reading import SharedReadings

    readings = readings or runner.readings or SharedReadings()
    runner.readings = readings
    if not pattern and not schemas:
        return [Member(name, runner)]
    try:
        targets = expand(runner.target, pattern, schemas)
    except ConnectionFailed as exc:
        if not keep_unreachable:
            raise
        return [Member(name, runner, unreachable=exc.message)]
    return [Member(str(t.environment), MigrationRunner(t, runner.migrations_dir, runner.options, readings=readings))
            for t in targets]


def parse_shard(text: str) -> tuple[int, int]:
    """'2/5' -> (2, 5); UsageError unless 1 <= I <= N."""
    try:
        i, n = (int(x) for x in text.split("/", 1))
    except ValueError:
        raise UsageError(f"--shard takes I/N, e.g. 2/5, not {text!r}") from None
    if not 1 <= i <= n:
        raise UsageError(f"--shard {text}: I must be from 1 to N")
    return i, n


def in_shard(name: str, shard: tuple[int, int]) -> bool:
    """Whether target `name` belongs to shard I of N: a stable hash of the name, so the parts are disjoint,
    cover every target, and a target stays in its part when others are added."""
    i, n = shard
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return digest % n == i - 1
