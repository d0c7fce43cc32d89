"""Triggers and rules: the event hooks of a table."""

from __future__ import annotations

from pglast import ast

from app.core.rollback.model import Inverse, Step
from app.core.rollback.names import _rv, ident
from app.core.rollback.steps import _QNAME, _comment, _fixed, _Manual, _read

_TRIGGER = f"""
SELECT pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled::text, pg_catalog.obj_description(t.oid, 'pg_trigger'), {_QNAME}
FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE t.tgrelid = pg_catalog.to_regclass(%s) AND t.tgname = %s"""


_ENABLE = {"D": "DISABLE TRIGGER", "R": "ENABLE REPLICA TRIGGER", "A": "ENABLE ALWAYS TRIGGER"}


def _trigger_sql(row: tuple, name: str, replace_: bool = False) -> list[str]:
    definition, enabled, comment, qtable = row
    if replace_:
        definition = definition.replace("CREATE ", "CREATE OR REPLACE ", 1)
    out = [definition]
    if enabled in _ENABLE:
        out.append(f"ALTER TABLE {qtable} {_ENABLE[enabled]} {ident(name)}")
    return out + _comment(f"TRIGGER {ident(name)} ON {qtable}", comment)


def _create_trigger(node: ast.CreateTrigStmt, what: str) -> Step:
    table = _rv(node.relation)
    drop = f"DROP TRIGGER {ident(node.trigname)} ON {table}"
    if not node.replace:
        return _fixed(drop)

    def resolve(rows: list[tuple]) -> Inverse:
        return Inverse(tuple(_trigger_sql(rows[0], node.trigname, True))) if rows else Inverse((drop,))

    return _read(_TRIGGER, (table, node.trigname), resolve,
        f"restore the previous trigger {node.trigname} on {table}, or drop it (read when applied)")


_RULE = """SELECT pg_catalog.pg_get_ruledef(r.oid), pg_catalog.obj_description(r.oid, 'pg_rewrite')
FROM pg_catalog.pg_rewrite r WHERE r.ev_class = pg_catalog.to_regclass(%s) AND r.rulename = %s"""


def _create_rule(node: ast.RuleStmt, what: str) -> Step:
    if node.replace:
        raise _Manual(f"{what!r} may replace an existing rule")
    return _fixed(f"DROP RULE {ident(node.rulename)} ON {_rv(node.relation)}")
