"""A fleet's targets: environments expanded to every database matching a pattern, and shards.

A profile with `databases = "tenant_%"` stands for every database of its server whose name is
LIKE the pattern (templates and databases that refuse connections left out), each a target of
its own named `ENV/DBNAME`, with the profile's login, folder and protection.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

import psycopg
from psycopg import conninfo

from app.core.connect import Target, connect
from app.core.errors import ConnectionFailed, UsageError
from app.core.fleet import Member

if TYPE_CHECKING:
    from app.core.runner import MigrationRunner

_LIST = ("SELECT datname FROM pg_database WHERE datname LIKE %s AND datallowconn AND NOT datistemplate "
         "ORDER BY datname")


def expand_databases(target: Target, pattern: str) -> list[Target]:
    """One target per database of the server LIKE `pattern`; UsageError when none matches."""
    try:
        with connect(target) as conn:
            names = [r[0] for r in conn.execute(_LIST, (pattern,)).fetchall()]
    except ConnectionFailed as exc:
        raise ConnectionFailed(f"cannot list the databases of {target.environment}: {exc.message}") from None
    except psycopg.Error as exc:
        raise UsageError(f"cannot list the databases of {target.environment}: {str(exc).strip()}") from None
    if not names:
        raise UsageError(f"environment {target.environment}: no database of {target.display()} matches "
                         f"{pattern!r} (a LIKE pattern: % for any text, _ for one character)")
    params = conninfo.conninfo_to_dict(target.dsn)
    out = []
    for name in names:
        dsn = conninfo.make_conninfo("", **{**params, "dbname": name})
        out.append(replace(target, dsn=dsn, environment=f"{target.environment}/{name}"))
    return out


def members_of(name: str, runner: MigrationRunner, pattern: str | None) -> list[Member]:
    """The fleet members an environment stands for: itself, or each database matching its pattern."""
    from app.core.runner import MigrationRunner

    if not pattern:
        return [Member(name, runner)]
    return [Member(str(t.environment), MigrationRunner(t, runner.migrations_dir, runner.options))
            for t in expand_databases(runner.target, pattern)]


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
