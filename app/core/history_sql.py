"""History rows as SQL: literals quoted for the connection, INSERTs inlined or prepared.

A Row names its table by the logical (public) name; it is written into the connection's place
(`Row.sql(conn)`, `prepared_insert(rows, place)`), so one set of rows serves every schema target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from app.core.place import PUBLIC, Place, place_of


class Raw(str):
    """An SQL expression to put in a history row as it is (not as a literal)."""


def literal(conn: psycopg.Connection, value: Any) -> str:
    """A value as an SQL literal for this connection."""
    return _quoter(conn)(value)


def _quoter(conn: psycopg.Connection) -> Callable[[Any], str]:
    """Quoting for this connection's settings, decided once per row rather than once per value.

    History rows carry ~20 values per migration: plain strings, numbers, booleans and NULL are
    written directly when that is exact (UTF-8 client encoding and standard_conforming_strings
    on, where doubling quotes is the whole escaping); anything else is quoted by psycopg/libpq.
    """
    plain = conn.info.encoding == "utf-8" and conn.info.parameter_status("standard_conforming_strings") == "on"

    def quote(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, Raw):
            return str(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if plain and isinstance(value, str) and "\x00" not in value:
            return "'" + value.replace("'", "''") + "'"
        return sql.Literal(value).as_string(conn)

    return quote


def insert_sql(conn: psycopg.Connection, table: str, values: dict[str, Any]) -> str:
    """An INSERT with the values inlined (Raw ones as written), into `table` in the connection's place."""
    quote = _quoter(conn)
    table = place_of(conn).qualify(table)
    return f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(quote(v) for v in values.values())})"


@dataclass(frozen=True)
class Row:
    """A history row to insert with a migration: its table, values (Raw ones are SQL) and RETURNING."""

    table: str
    values: dict[str, Any]
    returning: str = ""
    conflict: str = ""  # an ON CONFLICT clause (a repeatable's row replaces its last run's)

    def sql(self, conn: psycopg.Connection) -> str:
        """The INSERT with its values inlined."""
        text = insert_sql(conn, self.table, self.values) + self.conflict
        return f"{text} RETURNING {self.returning}" if self.returning else text


def prepared_insert(rows: list[Row], where: Place = PUBLIC) -> tuple[str, list[str | None]]:
    """Rows as one INSERT statement with $n parameters, and their values as text.

    The statement is the same for every migration of a run (same columns, same Raw
    expressions), so the server parses and plans it once; the rows after the first go in as
    data-modifying CTEs (always executed), and the first RETURNING asked for is returned.
    """
    if any(r.conflict for r in rows):  # a data-modifying CTE cannot hold it as written: never sent ahead
        raise ValueError("a history row with ON CONFLICT is written with Row.sql, not pipelined")
    shape = (where, *((r.table, tuple(r.values), tuple(v if isinstance(v, Raw) else None for v in r.values.values()),
                   r.returning) for r in rows))
    template = _TEMPLATES.get(shape)
    if template is None:
        template = _TEMPLATES[shape] = _insert_template(rows, where)
    return template, [_text_param(v) for r in rows for v in r.values.values() if not isinstance(v, Raw)]


_TEMPLATES: dict[tuple, str] = {}


def _insert_template(rows: list[Row], where: Place) -> str:
    n = 0
    inserts = []
    for row in rows:
        slots = []
        for v in row.values.values():
            if isinstance(v, Raw):
                slots.append(str(v))
            else:
                n += 1
                slots.append(f"${n}")
        inserts.append(f"INSERT INTO {where.qualify(row.table)} ({', '.join(row.values)}) VALUES ({', '.join(slots)})")
    returning = next(((i, r.returning) for i, r in enumerate(rows) if r.returning), None)
    ctes = [f"r{i} AS ({text}{' RETURNING ' + rows[i].returning if returning and i == returning[0] else ''})"
            for i, text in enumerate(inserts[:-1])]
    last = inserts[-1]
    if returning is not None:
        last += (f" RETURNING {returning[1]}" if returning[0] == len(rows) - 1
                 else f" RETURNING (SELECT {returning[1]} FROM r{returning[0]})")
    return f"WITH {', '.join(ctes)} {last}" if ctes else last


def _text_param(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("a history value holds a NUL byte, which a text parameter would cut off")
    if isinstance(value, int | str):
        return str(value)
    raise TypeError(f"no text form for a history value of type {type(value).__name__}")
