"""What the database holds around a statement whose effects its text does not tell (observed.py).

Read just before it and again just after, in the same transaction: a fingerprint of every catalog table's
rows, the objects by OID, each table's row counters for this transaction, each sequence's state, the
tables' row-level security switches and the relations' names; and the catalog as the file's rollback
leaves it, from here on, without this statement (a replay of the rollback of the statements before it).

Columns PostgreSQL updates lazily or for statistics (reltuples, relhastriggers, ...) are left out of
the fingerprint, as are the statistics catalogs. Catalogs the role cannot read are left out too:
pg_authid where the role cannot read it (its view pg_roles is read always, but shows no password: a
password changed by a role that cannot read pg_authid is not seen) and pg_user_mapping (pg_user_mappings).
"""

from __future__ import annotations

from typing import Any

import psycopg

from app.core.rollback.cascade import _trial

# statistics and data, not schema; pg_user_mapping is read through its view (and pg_authid too, but read
# itself where the role may: _CATALOGS takes only the catalogs it can read)
_LEFT_OUT = ("pg_statistic", "pg_statistic_ext_data", "pg_largeobject", "pg_user_mapping")
_VIEWS = ("pg_roles", "pg_user_mappings")
# columns PostgreSQL sets as a side effect (statistics, flags it resets only at VACUUM)
_LAZY = {
    "pg_class": ("relpages", "reltuples", "relallvisible", "relallfrozen", "relfrozenxid", "relminmxid",
                 "relhasindex", "relhastriggers", "relhasrules", "relhassubclass"),
    "pg_database": ("datfrozenxid", "datminmxid"),
}

_CATALOGS = """
SELECT c.relname::text FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'
  AND pg_catalog.has_table_privilege(c.oid, 'SELECT') AND c.relname <> ALL(%s)
ORDER BY 1"""

_TEMP = "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname ~ '^pg_(toast_)?temp_')"

# objects by OID, for the drops: [kind, oid, relation oid or 0]
_OBJECTS = f"""
SELECT 'class', c.oid, 0 FROM pg_catalog.pg_class c WHERE c.relnamespace NOT IN {_TEMP}
UNION ALL SELECT 'proc', p.oid, 0 FROM pg_catalog.pg_proc p
UNION ALL SELECT 'type', t.oid, 0 FROM pg_catalog.pg_type t
UNION ALL SELECT 'schema', n.oid, 0 FROM pg_catalog.pg_namespace n WHERE n.oid NOT IN {_TEMP}
UNION ALL SELECT 'trigger', t.oid, t.tgrelid FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal
UNION ALL SELECT 'policy', p.oid, p.polrelid FROM pg_catalog.pg_policy p
UNION ALL SELECT 'rule', r.oid, r.ev_class FROM pg_catalog.pg_rewrite r WHERE r.rulename <> '_RETURN'
UNION ALL SELECT 'constraint', c.oid, c.conrelid FROM pg_catalog.pg_constraint c WHERE c.conrelid <> 0
UNION ALL SELECT 'domain constraint', c.oid, c.contypid FROM pg_catalog.pg_constraint c WHERE c.contypid <> 0"""

DATA = """
SELECT s.relid, s.n_tup_ins + s.n_tup_upd + s.n_tup_del FROM pg_catalog.pg_stat_xact_all_tables s
WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') OR s.relname = 'pg_largeobject'"""

_SEQUENCES = """
SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname !~ '^pg_(toast_)?temp_'"""

# a relation's name, schema-qualified whatever the search_path when the rollback runs
REL = ("(SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.relname) "
       "FROM pg_catalog.pg_class x JOIN pg_catalog.pg_namespace n ON n.oid = x.relnamespace WHERE x.oid = {oid})")

# relations' names (quoted where need be), to rename back those that were there: [oid, schema, name, kind]
_NAMES = f"""
SELECT c.oid, pg_catalog.quote_ident(n.nspname), pg_catalog.quote_ident(c.relname), c.relkind::text
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I', 'c') AND c.relnamespace NOT IN {_TEMP}
  AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema')"""
def relation_names(conn: psycopg.Connection) -> dict[int, tuple[str, str, str]]:
    return {int(o): (n, r, k) for o, n, r, k in conn.execute(_NAMES).fetchall()}


# tables' row-level security switches, which a statement may flip on tables that were there
RLS = f"""
SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity, {REL.format(oid='c.oid')}
FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p')"""


class Seen:
    """What the database held just before the statement, as far as an inverse of additions can tell.

    `replay`: the rollback of the file's statements before this one (None: there is none, or it is manual),
    which the file's rollback runs after this statement's inverse. It is run in a savepoint: `without` is
    the catalog's fingerprint and snapshot after it, and `dropped` the relations (OIDs) it drops, whose
    rows and sequences' states the statement may change: they go with them. None and empty when there is
    no replay or it failed."""

    def __init__(self, conn: psycopg.Connection, replay: str | None) -> None:
        from app.core import catalog

        self.fingerprint = fingerprint(conn)
        self.objects = object_oids(conn)
        self.data = {int(r): int(n) for r, n in conn.execute(DATA).fetchall()}
        self.sequences = sequence_states(conn)
        self.rls = {int(o): (r, f) for o, r, f, _ in conn.execute(RLS).fetchall()}
        self.names = relation_names(conn)
        self.session = session_state(conn)
        self.replay = replay
        self.without: tuple[dict[str, str], Any] | None = None
        self.dropped: frozenset[int] = frozenset()
        if replay:
            classes = {o for k, o in self.objects if k == "class"}

            def read() -> tuple[dict[str, str], Any, frozenset[int]]:
                left = {o for k, o in object_oids(conn) if k == "class"}
                return fingerprint(conn), catalog.snapshot(conn), frozenset(classes - left)

            error, found = _trial(conn, replay, read)
            if error is None:
                self.without, self.dropped = found[:2], found[2]  # type: ignore[index]


def session_state(conn: psycopg.Connection) -> tuple:
    """The search_path and role the statements after it run under."""
    return tuple(conn.execute("SELECT pg_catalog.current_setting('search_path'), current_user::text").fetchone() or ())


def object_oids(conn: psycopg.Connection) -> dict[tuple[str, int], int]:
    """The objects by (kind, OID): the relation each is on, or 0."""
    return {(k, int(o)): int(r) for k, o, r in conn.execute(_OBJECTS).fetchall()}


def fingerprint(conn: psycopg.Connection) -> dict[str, str]:
    """Each catalog table's rows (lazy columns left out) as one md5, by catalog name."""
    names = [r[0] for r in conn.execute(_CATALOGS, (list(_LEFT_OUT),)).fetchall()] + list(_VIEWS)
    parts = []
    for name in names:
        lazy = "".join(f" - '{c}'" for c in _LAZY.get(name, ()))
        parts.append(f"SELECT '{name}', pg_catalog.md5(coalesce(pg_catalog.string_agg(j, E'\\n' ORDER BY j), '')) "
                     f"FROM (SELECT (pg_catalog.to_jsonb(t){lazy})::text j FROM pg_catalog.{name} t) s")
    return {n: h for n, h in conn.execute("\nUNION ALL ".join(parts)).fetchall()}


def sequence_states(conn: psycopg.Connection) -> dict[int, tuple] | str:
    """Each sequence's (last_value, is_called); a string when one cannot be read (saying which)."""
    found = conn.execute(_SEQUENCES).fetchall()
    if not found:
        return {}
    query = " UNION ALL ".join(f"SELECT {int(oid)}::oid, last_value, is_called FROM {name}" for oid, name in found)
    try:
        with conn.transaction():  # a savepoint: a sequence the role cannot read must not end the migration
            return {int(o): (v, c) for o, v, c in conn.execute(query).fetchall()}  # type: ignore[arg-type]
    except psycopg.Error as exc:
        return f"a sequence's state could not be read ({exc.diag.message_primary})"


def differing(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


