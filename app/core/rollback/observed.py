"""Statements whose effects cannot be read from their text, undone from what they were seen to add.

`SELECT create_tables()`, `CALL setup()`, or a DO block with a loop or an EXECUTE: nothing in the
text says what they do. What they did can be seen, though, in the same transaction: the catalog is
read just before the statement and again just after (seen.py).
- A pre-existing table's rows changed (inserted, updated, deleted, or the table rewritten or
  truncated), a sequence that was there moved, or anything left in a temporary schema: manual,
  naming it; dropping objects cannot give such a change back. Tables and sequences the file's
  rollback drops later (the file created them) are not "pre-existing": what is done to them goes too.
- Otherwise the objects it added (schemas, tables, views, sequences, types, functions, and
  triggers, policies, rules, constraints and indexes on objects that were there) are dropped, newest
  kinds first; relations that were there and were renamed or moved get their names back; row-level
  security switches are set back. That inverse is tried at once in a savepoint: it is the rollback
  only when, after it, every catalog row is as it was before the statement (and the schema snapshot
  equal), both compared, when the file's rollback drops relations later, as they are once it has.
So what is stored was run once, on this database, and checked: never a guess.

Another session's DDL committed during the statement shows as a change: manual, never wrong.
"""

from __future__ import annotations

from typing import Any

import psycopg

from app.core.rollback.cascade import _in_transaction, _trial
from app.core.rollback.model import CatalogRead, Inverse, Step
from app.core.rollback.seen import (
    DATA,
    REL,
    RLS,
    Seen,
    differing,
    fingerprint,
    object_oids,
    relation_names,
    sequence_states,
    session_state,
)
from app.core.rollback.steps import _tried

_NAMED = "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident({name})"
# a relation's or type's name, schema-qualified whatever the search_path when the rollback runs
_TYP = ("(SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.typname) "
        "FROM pg_catalog.pg_type x JOIN pg_catalog.pg_namespace n ON n.oid = x.typnamespace WHERE x.oid = {oid})")

# the drops, newest kinds first: [order, statement], for the added objects' OIDs
_DROPS = f"""
WITH new(kind, oid, rel) AS (SELECT * FROM ROWS FROM (pg_catalog.unnest(%(kinds)s::text[]),
  pg_catalog.unnest(%(oids)s::oid[]), pg_catalog.unnest(%(rels)s::oid[]))),
old(oid) AS (SELECT pg_catalog.unnest(%(old)s::oid[]))
SELECT 1, 'DROP TRIGGER IF EXISTS ' || pg_catalog.quote_ident(t.tgname) || ' ON ' || {REL.format(oid='t.tgrelid')}
FROM new JOIN pg_catalog.pg_trigger t ON t.oid = new.oid WHERE new.kind = 'trigger' AND new.rel IN (SELECT oid FROM old)
UNION ALL
SELECT 1, 'DROP POLICY IF EXISTS ' || pg_catalog.quote_ident(p.polname) || ' ON ' || {REL.format(oid='p.polrelid')}
FROM new JOIN pg_catalog.pg_policy p ON p.oid = new.oid WHERE new.kind = 'policy' AND new.rel IN (SELECT oid FROM old)
UNION ALL
SELECT 1, 'DROP RULE IF EXISTS ' || pg_catalog.quote_ident(r.rulename) || ' ON ' || {REL.format(oid='r.ev_class')}
FROM new JOIN pg_catalog.pg_rewrite r ON r.oid = new.oid WHERE new.kind = 'rule' AND new.rel IN (SELECT oid FROM old)
UNION ALL
SELECT 2, 'ALTER TABLE ' || {REL.format(oid='c.conrelid')} || ' DROP CONSTRAINT IF EXISTS '
  || pg_catalog.quote_ident(c.conname)
FROM new JOIN pg_catalog.pg_constraint c ON c.oid = new.oid
WHERE new.kind = 'constraint' AND new.rel IN (SELECT oid FROM old)
UNION ALL
SELECT 2, 'ALTER DOMAIN ' || {_TYP.format(oid='c.contypid')} || ' DROP CONSTRAINT IF EXISTS '
  || pg_catalog.quote_ident(c.conname)
FROM new JOIN pg_catalog.pg_constraint c ON c.oid = new.oid
WHERE new.kind = 'domain constraint' AND new.rel IN (SELECT oid FROM old)
UNION ALL
SELECT CASE WHEN c.relkind IN ('v', 'm') THEN 4 WHEN c.relkind IN ('i', 'I') THEN 3 ELSE 5 END,
  'DROP ' || CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
    WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' WHEN 'i' THEN 'INDEX' WHEN 'I' THEN 'INDEX' ELSE 'TABLE' END
  || ' IF EXISTS ' || {_NAMED.format(name="c.relname")} || ' CASCADE'
FROM new JOIN pg_catalog.pg_class c ON c.oid = new.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE new.kind = 'class' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c', 'i', 'I')
  AND NOT (c.relkind IN ('i', 'I') AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i
    WHERE i.indexrelid = c.oid AND (i.indrelid NOT IN (SELECT oid FROM old)
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = c.oid AND k.conrelid = i.indrelid))))
  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
      AND d.refobjid NOT IN (SELECT oid FROM old)))
  AND NOT (c.relispartition AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h
    WHERE h.inhrelid = c.oid AND h.inhparent NOT IN (SELECT oid FROM old)))
UNION ALL
SELECT 6, 'DROP ' || CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END
  || ' IF EXISTS ' || {_NAMED.format(name="p.proname")} || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid)
  || ') CASCADE'
FROM new JOIN pg_catalog.pg_proc p ON p.oid = new.oid JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE new.kind = 'proc'
UNION ALL
SELECT 7, 'DROP ' || CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END || ' IF EXISTS '
  || {_NAMED.format(name="t.typname")} || ' CASCADE'
FROM new JOIN pg_catalog.pg_type t ON t.oid = new.oid JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE new.kind = 'type' AND t.typrelid = 0 AND t.typtype IN ('d', 'e', 'r', 'b')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
UNION ALL
SELECT 8, 'DROP SCHEMA IF EXISTS ' || pg_catalog.quote_ident(n.nspname) || ' CASCADE'
FROM new JOIN pg_catalog.pg_namespace n ON n.oid = new.oid WHERE new.kind = 'schema'
ORDER BY 1, 2"""


_SCHEMAS = 8  # the order of schema drops in _DROPS

_KIND_WORDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE",
               "f": "FOREIGN TABLE", "i": "INDEX", "I": "INDEX", "c": "TYPE"}


def _renamed_back(conn: psycopg.Connection, seen: Seen) -> list[str]:
    """ALTER ... SET SCHEMA / RENAME TO giving relations that were there their names back."""
    out = []
    for oid, (schema, name, kind) in relation_names(conn).items():
        was = seen.names.get(oid)
        if was is None or was[:2] == (schema, name):
            continue
        word = _KIND_WORDS[kind]
        if was[0] != schema and kind not in ("i", "I"):  # an index moves with its table
            out.append(f"ALTER {word} {schema}.{name} SET SCHEMA {was[0]}")
            schema = was[0]
        if was[1] != name:
            if kind not in ("i", "I"):
                # by way of a passing name: renamed straight back, its array type could not take its old
                # name (`_items` while the table is still called `_items`) and would get another
                passing = f"tidemark_renaming_{oid}"
                out.append(f"ALTER {word} {schema}.{name} RENAME TO {passing}")
                name = passing
            out.append(f"ALTER {word} {schema}.{name} RENAME TO {was[1]}")
    return out


def _switched_back(conn: psycopg.Connection, seen: Seen) -> list[str]:
    """ALTER TABLEs setting the row-level security switches of tables that were there back as they were."""
    out = []
    for oid, rls, force, name in conn.execute(RLS).fetchall():
        was = seen.rls.get(int(oid))
        if was is None:
            continue
        if was[0] != rls:
            out.append(f"ALTER TABLE {name} {'ENABLE' if was[0] else 'DISABLE'} ROW LEVEL SECURITY")
        if was[1] != force:
            out.append(f"ALTER TABLE {name} {'FORCE' if was[1] else 'NO FORCE'} ROW LEVEL SECURITY")
    return out


def observed_step(what: str, why: str, last: bool = False) -> Step:
    """The step of a statement whose text says not what it does (`why`): undone from what it added.

    Told the rollback of the file's statements before it (CatalogRead.so_far), it checks its inverse
    followed by that, as the file's rollback runs them: rows it changes in relations that rollback drops,
    and sequences of theirs it moves, go with them. Unless it is the file's `last` statement (the session
    is reset after the migration), one that changes the search_path or role is manual: the statements
    after it were planned under those it found."""
    told: list[str | None] = [None]

    def before(conn: psycopg.Connection) -> list[tuple]:
        if not _in_transaction(conn):
            return [("manual", f"{why}; what it does can only be seen inside a transaction")]
        if conn.execute("SELECT pg_catalog.current_setting('track_counts')::bool").fetchone() != (True,):
            return [("manual", f"{why}; with track_counts off, its changes to rows cannot be seen")]
        from app.core import catalog

        try:
            with conn.transaction():  # a savepoint: a read that fails must not end the migration
                return [("ready", catalog.snapshot(conn), Seen(conn, told[0]))]
        except psycopg.Error as exc:
            return [("manual", f"{why}; the catalog could not be read ({exc.diag.message_primary})")]

    def after(rows: list[tuple]) -> CatalogRead:
        def run(conn: psycopg.Connection) -> list[tuple]:
            if rows[0][0] == "manual":
                return rows
            _, was, seen = rows[0]
            try:
                with conn.transaction():  # a savepoint: a read that fails must not end the migration
                    return [_undo(conn, was, seen, why, last)]
            except psycopg.Error as exc:
                return [("manual", f"{why}; what it added could not be read ({exc.diag.message_primary})")]

        return CatalogRead("-- what the statement added, its drops tried in a savepoint", (), resolve,
                           "what it added, dropped in a savepoint and the catalog compared (read when applied)", run)

    def resolve(rows: list[tuple]) -> Inverse:
        return _tried(rows, f"{what!r}: what it did was not read")

    describe = ("drop what it adds, seen in the catalog before and after it and checked in a savepoint "
                "(read when applied)")
    return Step(read=CatalogRead("-- the catalog before the statement", (), resolve, describe, before,
                                 so_far=lambda sql: told.__setitem__(0, sql)), after=after)


def observed_unless(checked: Step, what: str, last: bool = False) -> Step:
    """`checked` (a read, no `after`) when it finds an exact inverse; when it finds none, the observed step,
    its reason the check's."""
    assert checked.read is not None and checked.after is None
    check = checked.read
    told: list[str | None] = [None]

    def fetch(conn: psycopg.Connection) -> list[tuple]:
        inverse = check.resolve(check.fetch(conn))
        if not inverse.manual:
            return [("checked", inverse)]
        observed = observed_step(what, inverse.manual, last)
        assert observed.read is not None and observed.read.so_far is not None
        observed.read.so_far(told[0])
        return [("observe", observed, observed.read.fetch(conn))]

    def resolve(rows: list[tuple]) -> Inverse:
        if rows[0][0] == "checked":
            return rows[0][1]
        _, observed, seen = rows[0]
        return observed.read.resolve(seen)

    def after(rows: list[tuple]) -> CatalogRead:
        if rows[0][0] == "checked":
            inverse = rows[0][1]
            return CatalogRead("", (), lambda _: inverse, "nothing more to read", lambda conn: [])
        _, observed, seen = rows[0]
        return observed.after(seen)

    describe = f"{check.describe}; else: what it adds, seen before and after it (read when applied)"
    return Step(read=CatalogRead("", (), resolve, describe, fetch, so_far=lambda sql: told.__setitem__(0, sql)),
                after=after)


def _undo(conn: psycopg.Connection, was: Any, seen: Seen, why: str, last: bool) -> tuple:
    from app.core import catalog

    if not last and session_state(conn) != seen.session:  # later statements were planned under the path and role it had
        return ("manual", f"{why}; seen as it ran, it changes the search_path or role later statements run under")
    changed = _changed_rows(conn, seen)
    if changed:
        return ("manual", f"{why}; seen as it ran, it {changed}")
    now = fingerprint(conn)
    objects = object_oids(conn)
    if now == seen.fingerprint and set(objects) == set(seen.objects):
        return ("nothing",)
    added = [(k, o, r) for (k, o), r in objects.items() if (k, o) not in seen.objects]
    old = sorted({o for _, o in seen.objects})
    ordered = conn.execute(_DROPS, {
        "kinds": [k for k, _, _ in added], "oids": [o for _, o, _ in added], "rels": [r for _, _, r in added],
        "old": old}).fetchall()
    # relations that were there are renamed back once what took their names is dropped, before any schema
    # they were moved into is
    drops = ([d for o, d in ordered if o < _SCHEMAS] + _renamed_back(conn, seen)
             + [d for o, d in ordered if o >= _SCHEMAS] + _switched_back(conn, seen))
    if not drops and seen.without is None:
        return ("manual", f"{why}; seen as it ran, it changed the catalog in a way no drop gives back "
                          f"({', '.join(differing(seen.fingerprint, now)) or 'no object added'})")
    # with the file's rollback of what ran before it replayed after it, compared as that leaves the catalog
    trial, (print_, snapshot) = (([*drops, seen.replay], seen.without) if seen.without and seen.replay
                                 else (drops, (seen.fingerprint, was)))

    def same() -> list[str]:
        apart = differing(print_, fingerprint(conn))
        return apart or ([] if catalog.snapshot(conn) == snapshot else ["the schema snapshot"])

    error, apart = _trial(conn, ";\n".join(trial), same)
    undoing = ("dropping what it added, then the rollback of the file's statements before it," if seen.without
               else "dropping what it added")
    if error is not None:
        return ("manual", f"{why}; {undoing} failed when tried ({error.diag.message_primary})")
    if apart:
        return ("manual", f"{why}; {undoing} does not give the catalog back exactly "
                          f"({', '.join(apart)} differ, checked in a savepoint)")
    return ("inverse", drops)


def _changed_rows(conn: psycopg.Connection, seen: Seen) -> str | None:
    """What it changed that drops cannot give back: rows of tables that were there, or sequences (but for
    those the file's rollback drops later)."""
    dropped = seen.dropped
    data = {int(r): int(n) for r, n in conn.execute(DATA).fetchall()}
    moved = [r for r, n in data.items() if r in seen.data and n != seen.data[r] and r not in dropped]
    if moved:
        names = [r[0] for r in conn.execute("SELECT pg_catalog.unnest(%s::oid[])::regclass::text ORDER BY 1",
                                            (moved,)).fetchall()]
        return f"changes rows of {', '.join(names[:3])}{' and more' if len(names) > 3 else ''}"
    if isinstance(seen.sequences, str):
        return f"may move a sequence: {seen.sequences}"
    states = sequence_states(conn)
    if isinstance(states, str):
        return f"may move a sequence: {states}"
    moved_seq = [o for o, s in seen.sequences.items() if states.get(o, s) != s and o not in dropped]
    if moved_seq:
        names = [r[0] for r in conn.execute("SELECT pg_catalog.unnest(%s::oid[])::regclass::text ORDER BY 1",
                                            (moved_seq,)).fetchall()]
        return f"moves sequence {', '.join(names[:3])}{' and more' if len(names) > 3 else ''}"
    return None


__all__ = ["observed_step", "observed_unless"]
