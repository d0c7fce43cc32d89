"""A SELECT that moves a sequence that was there before (`setval`, `nextval`): set back, if nothing moved it since.

`SELECT setval('stream_seq', (SELECT max(id) FROM stream))` moves a sequence the file did not
create. Its state (last_value, is_called) is read just before the statement and right after it;
the rollback first checks that the sequence is still where the migration left it (a sequence the
application has drawn from since could hand out a value already used if set back) and refuses,
changing nothing, when it is not; then it sets the old state back. A sequence the file created
goes with the file's own rollback. Anything else the statement could reach (a volatile function)
is the same check `created` does.
"""

from __future__ import annotations

import psycopg
from pglast import ast

from app.core.rollback.created import Created
from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import literal
from app.core.rollback.reach import CHECK, calls_of, check_params, resolve_serials
from app.core.rollback.steps import _guard

# each sequence named: its regclass text (NULL: not there) and whether the file created it (or its table)
_WHICH = """
WITH mine(oid) AS (SELECT pg_catalog.to_regclass(t) FROM pg_catalog.unnest(%(created)s::text[]) t)
SELECT s, pg_catalog.to_regclass(s)::text, c.relkind::text,
  c.oid IN (SELECT oid FROM mine) OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
      AND d.refobjid IN (SELECT oid FROM mine))
FROM pg_catalog.unnest(%(sequences)s::text[]) s
LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(s)"""

_DESCRIBE = "set the sequences it moves back, if nothing drew from them since (read when applied)"
_QUOTE = "$tidemark$"


def moves_sequences(node: ast.SelectStmt) -> bool:
    """True when a SELECT calls nextval/setval on sequences named in its text."""
    calls = calls_of(node)
    return bool(calls.sequences or calls.serials) and not calls.unknown_sequence and not calls.modifies_more


def sequence_step(node: ast.SelectStmt, what: str, created: Created) -> Step:
    """The step of a SELECT moving sequences: read their state before and after, set it back on rollback."""
    calls = calls_of(node)
    params = check_params([], [], calls, created.names())
    check = {**params, "sequences": []}  # the sequences are set back here, not a reason to refuse

    def before(conn: psycopg.Connection) -> list[tuple]:
        problems = conn.execute(CHECK, check).fetchone()
        if problems is None or problems[0]:
            reason = problems[0][0] if problems else "could not be checked"
            return [(f"{what!r} changes data beyond what the file created: {reason}", [])]
        serials = resolve_serials(conn, calls)
        if serials is None:
            return [(f"{what!r} names a serial column pg_get_serial_sequence does not find", [])]
        moved = []
        which = {**params, "sequences": sorted({*calls.sequences, *serials})}
        for name, reg, kind, mine in conn.execute(_WHICH, which).fetchall():
            if reg is None or kind != "S":
                return [(f"{what!r} moves {name}, which is not a sequence here", [])]
            if _QUOTE in reg:
                return [(f"{what!r} moves {reg}, whose name cannot be written into the guarded rollback", [])]
            if not mine:
                moved.append((reg, _state(conn, reg)))
        return [(None, moved)]

    def after(rows: list[tuple]) -> CatalogRead:
        manual, moved = rows[0]

        def now(conn: psycopg.Connection) -> list[tuple]:
            if manual:
                return [(Inverse(manual=manual),)]
            return [(_set_back([(reg, old, _state(conn, reg)) for reg, old in moved]),)]

        return CatalogRead("", (), _guard(lambda found: found[0][0], _DESCRIBE), _DESCRIBE, now)

    def placeholder(rows: list[tuple]) -> Inverse:
        return Inverse(manual=rows[0][0]) if rows and rows[0][0] else NOTHING

    return Step(read=CatalogRead("", (), _guard(placeholder, _DESCRIBE), _DESCRIBE, before), after=after)


def _state(conn: psycopg.Connection, reg: str) -> tuple[int, bool]:
    row = conn.execute(f"SELECT last_value, is_called FROM {reg}").fetchone()  # regclass text: quoted already
    assert row is not None
    return int(row[0]), bool(row[1])


def _set_back(moves: list[tuple[str, tuple[int, bool], tuple[int, bool]]]) -> Inverse:
    sql: list[str] = []
    for reg, (old, old_called), (new, new_called) in moves:
        if (old, old_called) == (new, new_called):
            continue
        message = (f"sequence {reg} moved after the migration left it at {new}: setting it back to {old} could "
                   "hand out values already used; set it by hand").replace("%", "%%")
        sql.append(f"DO {_QUOTE} BEGIN IF NOT EXISTS (SELECT FROM {reg} WHERE last_value = {new} AND is_called = "
                   f"{str(new_called).lower()}) THEN RAISE EXCEPTION {literal(message)}; END IF; END {_QUOTE}")
        sql.append(f"SELECT pg_catalog.setval({literal(reg)}, {old}, {str(old_called).lower()})")
    return Inverse(tuple(sql))
