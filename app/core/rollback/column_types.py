"""Column type changes: which can be undone exactly, and the check a rollback makes before it turns one back.

A widening change (varchar(n) to text, int to bigint, int to double precision...) keeps every value, so
turning it back is exact once every value still fits the old type; the rollback checks that first and
refuses, changing nothing, when one does not. A narrowing to varchar(n) is exact too when, read just
before it ran, no value was longer than n: then the cast cut nothing (it silently cuts trailing spaces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from pglast import ast, enums

from app.core.rollback.names import _strs, ident, literal

AT = enums.AlterTableType

if TYPE_CHECKING:
    from app.core.rollback.alter_table import _Rel

# Widening type changes: the data fits back, so ALTER COLUMN TYPE can be undone.
_INT_RANK = {"int2": 1, "int4": 2, "int8": 3}


def _typmod_args(tn: ast.TypeName) -> list[int] | None:
    out = []
    for m in tn.typmods or ():
        if not (isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer)):
            return None
        out.append(m.val.ival)
    return out


def _widens(old: dict, new_typname: str | None, new_mods: list[int] | None) -> bool:
    """True when the column type change keeps every value representable in the old type."""
    o, otm = old["typname"], old["typmod"]
    if new_typname is None or new_mods is None:
        return False
    if o in _INT_RANK and new_typname in _INT_RANK:
        return _INT_RANK[new_typname] >= _INT_RANK[o]
    if o in _INT_RANK and new_typname == "numeric":
        return not new_mods
    if o == "float4" and new_typname == "float8":
        return True
    if (o, new_typname) in (("int2", "float8"), ("int4", "float8"), ("int2", "float4")):
        return True  # every such integer is exact in the float (int8 is not: past 2**53 it rounds)
    if o == "varchar" and new_typname == "text":
        return True
    if o == "varchar" and new_typname == "varchar":
        return not new_mods or (otm >= 4 and new_mods[0] >= otm - 4)
    if o == "numeric" and new_typname == "numeric":
        if not new_mods:
            return True
        if otm < 4:
            return False
        p, s = ((otm - 4) >> 16) & 0xFFFF, (otm - 4) & 0xFFFF
        p2, s2 = new_mods[0], (new_mods[1] if len(new_mods) > 1 else 0)
        return s2 >= s and p2 - s2 >= p - s
    return False


def invert_type(cmd: ast.AlterTableCmd, col: dict, at: str, what: str, r: _Rel) -> list[str] | str:
    coldef = cmd.def_
    if coldef.raw_default is not None or getattr(coldef, "collClause", None) is not None:
        return f"{what!r} converts the data (USING or COLLATE): the old values may not come back"
    tn = coldef.typeName
    if tn.arrayBounds or tn.setof or tn.pct_type:
        return f"{what!r} changes the column's type in a way that cannot be undone exactly"
    mods = _typmod_args(tn)
    base = _strs(tn.names)
    new_typname = base[-1] if len(base) == 2 and base[0] == "pg_catalog" else None
    if base == ["text"]:
        new_typname = "text"
    if new_typname == col["typname"] and mods is not None and (
        (not mods and col["typmod"] == -1) or (mods and col["type"].endswith(f"({','.join(map(str, mods))})"))
    ):
        return []  # the same type: nothing changes
    if not _widens(col, new_typname, mods):
        if not (new_typname == "varchar" and r.short.get(cmd.name) and col["typname"] in ("text", "varchar")):
            return f"{what!r} narrows or converts the column's type: the old values may not fit back"
        checks: list[str] = []  # no value was longer: the cast cut nothing, and the old type holds them all
    else:
        checks = [_fits_check(r.qname, cmd.name, col)]
    out = [*checks,
           f"{at} ALTER COLUMN {ident(cmd.name)} TYPE {col['type']}"
           + (f" COLLATE {col['collation']}" if col["collation"] else "")]
    if col["default"] is not None:
        out.append(f"{at} ALTER COLUMN {ident(cmd.name)} SET DEFAULT {col['default']}")
    return out


_INT_RANGE = {"int2": (-32768, 32767), "int4": (-2147483648, 2147483647), "int8": (-2**63, 2**63 - 1)}


def _does_not_fit(c: str, old: dict) -> str:
    """SQL: true for a value of column `c` (an identifier) that the old type cannot hold exactly.

    Turning the type back would otherwise fail mid-rollback, or worse, round or cut the value
    without a word (numeric scale, trailing spaces of varchar, float precision).
    """
    o, tm = old["typname"], old["typmod"]
    if o in _INT_RANGE:
        lo, hi = _INT_RANGE[o]
        return f"({c} <> pg_catalog.trunc({c}::numeric) OR {c}::numeric NOT BETWEEN {lo} AND {hi})"
    if o == "varchar":
        return f"pg_catalog.char_length({c}::text) > {tm - 4}" if tm >= 4 else "false"
    if o == "numeric":
        p, s = ((tm - 4) >> 16) & 0xFFFF, (tm - 4) & 0xFFFF
        return (f"({c}::numeric <> 'NaN' AND ({c}::numeric <> pg_catalog.round({c}::numeric, {s}) "
                f"OR pg_catalog.abs(pg_catalog.round({c}::numeric, {s})) >= 10::numeric ^ {p - s}))")
    if o == "float4":
        return f"({c}::float8 <> 'NaN' AND ({c}::float8::float4::float8 <> {c}::float8))"
    raise ValueError(f"no check of values known for type {o}")


def _fits_check(qtable: str, column: str, old: dict) -> str:
    """A statement that stops the rollback, changing nothing, when a value no longer fits the old type."""
    c = ident(column)
    message = (f"rollback refused: a value in {qtable}.{c} does not fit its earlier type {old['type']} "
               "again; change or remove it first, or roll back by hand")
    body = (f"BEGIN IF EXISTS (SELECT 1 FROM {qtable} WHERE {_does_not_fit(c, old)}) THEN "
            f"RAISE EXCEPTION '%', {literal(message)}; END IF; END")
    tag = "$tidemark$"
    if tag in body:
        raise ValueError("the check's text holds its own quote")
    return f"DO {tag} {body} {tag}"




def narrowed(cmds: list[ast.AlterTableCmd]) -> list[tuple[str, int]]:
    """(column, n) of each ALTER COLUMN ... TYPE varchar(n) among `cmds` (a narrowing, maybe)."""
    out = []
    for cmd in cmds:
        if cmd.subtype != AT.AT_AlterColumnType or not isinstance(cmd.def_, ast.ColumnDef):
            continue
        tn = cmd.def_.typeName
        mods = _typmod_args(tn)
        if _strs(tn.names) == ["pg_catalog", "varchar"] and mods and len(mods) == 1:
            out.append((cmd.name, mods[0]))
    return out


def short_values(conn: psycopg.Connection, qtable: str, columns: list[tuple[str, int]]) -> dict[str, bool]:
    """For each (column, n): True when no value of the column is longer than n (read before the change)."""
    checks = ", ".join(f"NOT EXISTS (SELECT 1 FROM {qtable} WHERE pg_catalog.char_length({ident(c)}::text) > {n})"
                       for c, n in columns)
    try:
        with conn.transaction():  # a savepoint: a column that is not there (the change will fail) ends nothing
            found = conn.execute(f"SELECT {checks}").fetchone()
    except psycopg.Error:
        return {}
    return {c: bool(v) for (c, _), v in zip(columns, found or (), strict=False)}
