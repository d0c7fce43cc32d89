"""DROP ... CASCADE (and ALTER TABLE ... DROP CONSTRAINT ... CASCADE), and views dropped with their parts
and their dependants.

What a CASCADE drops is decided by PostgreSQL's dependency walk, which is not repeated here:
the drop is tried inside a savepoint just before the statement runs and rolled back at once.
- If the same drop with RESTRICT goes through, CASCADE drops nothing more, and the statement is
  undone as the RESTRICT one is.
- A view or materialized view that other views depend on: the objects that disappear in the
  trial (read from pg_depend and pg_class before and in it) are the dropped set. When every one
  is a view or materialized view, or a part of one (its rules, triggers, column defaults, row
  type, indexes), they are all recreated, in dependency order, with their parts, comments,
  owners and privileges. Anything else (a function, a table column, a policy...) makes it
  manual, naming what else goes.
Everything the trial did is rolled back with its savepoint (event triggers' effects and
notifications too); it needs a transaction, so outside one the statement stays manual.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable

import psycopg
from pglast import ast, enums
from psycopg import pq

from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _names, deparse, ident
from app.core.rollback.search_path import replace_node
from app.core.rollback.steps import _acl_restore, _comment, _guard
from app.core.rollback.triggers import _trigger_sql
from app.core.rollback.views import _MATVIEW, _VIEW, _matview_sql, _view_sql

OT = enums.ObjectType
DB = enums.DropBehavior

_SAVEPOINT = "tidemark_rollback_trial"
_DEPENDENT_OBJECTS_STILL_EXIST = "2BP01"

# every object that can be dropped: what depends on something, and every relation
_OBJECTS = """SELECT classid, objid, objsubid FROM pg_catalog.pg_depend WHERE deptype <> 'p'
UNION SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, oid, 0 FROM pg_catalog.pg_class"""

# the dropped objects (read after the trial was rolled back): what each is, and the relation it is part of
_WHAT = """
SELECT b.c, b.o, b.s, pg_catalog.pg_describe_object(b.c, b.o, b.s),
  CASE b.c
    WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
      (SELECT CASE WHEN c.relkind = 'i' THEN (SELECT x.indrelid FROM pg_catalog.pg_index x WHERE x.indexrelid = c.oid)
              ELSE c.oid END FROM pg_catalog.pg_class c WHERE c.oid = b.o)
    WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
      (SELECT r.ev_class FROM pg_catalog.pg_rewrite r WHERE r.oid = b.o)
    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
      (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE t.oid = b.o)
    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN
      (SELECT d.adrelid FROM pg_catalog.pg_attrdef d WHERE d.oid = b.o)
    WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN
      (SELECT CASE WHEN t.typrelid <> 0 THEN t.typrelid
              ELSE (SELECT e.typrelid FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND t.typcategory = 'A') END
       FROM pg_catalog.pg_type t WHERE t.oid = b.o)
  END,
  (SELECT c.relkind::text FROM pg_catalog.pg_class c WHERE b.c = 'pg_catalog.pg_class'::pg_catalog.regclass
     AND c.oid = b.o AND b.s = 0)
FROM ROWS FROM (pg_catalog.unnest(%s::pg_catalog.oid[]), pg_catalog.unnest(%s::pg_catalog.oid[]),
  pg_catalog.unnest(%s::int[])) b(c, o, s)"""

# the relations a view's or materialized view's query reads, among those being recreated
_EDGES = """
SELECT r.ev_class, COALESCE(t.typrelid, d.refobjid)
FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_depend d
  ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid
LEFT JOIN pg_catalog.pg_type t ON d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = d.refobjid
WHERE r.ev_class = ANY(%s::pg_catalog.oid[]) AND r.rulename = '_RETURN'
  AND (d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
       OR d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass)"""

_NAME = """SELECT c.relkind::text, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s"""

# a view's parts that CREATE VIEW does not make: rules besides its query, triggers, column defaults, column grants
_PARTS = """
SELECT
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(r.rulename, pg_catalog.pg_get_ruledef(r.oid),
       pg_catalog.obj_description(r.oid, 'pg_rewrite'), r.ev_enabled::text) ORDER BY r.rulename)
   FROM pg_catalog.pg_rewrite r WHERE r.ev_class = %(oid)s AND r.rulename <> '_RETURN'),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(t.tgname, pg_catalog.pg_get_triggerdef(t.oid),
       t.tgenabled::text, pg_catalog.obj_description(t.oid, 'pg_trigger')) ORDER BY t.tgname)
   FROM pg_catalog.pg_trigger t WHERE t.tgrelid = %(oid)s AND NOT t.tgisinternal),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid))
       ORDER BY a.attnum)
   FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
   WHERE d.adrelid = %(oid)s),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, (SELECT pg_catalog.json_agg(
       pg_catalog.json_build_array(CASE WHEN x.grantee = 0 THEN 'PUBLIC'
         ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END, x.privilege_type, x.is_grantable))
       FROM pg_catalog.aclexplode(a.attacl) x)) ORDER BY a.attnum)
   FROM pg_catalog.pg_attribute a WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND a.attacl IS NOT NULL)"""


def _in_transaction(conn: psycopg.Connection) -> bool:
    return conn.info.transaction_status == pq.TransactionStatus.INTRANS


def _trial(conn: psycopg.Connection, statement: str, then: Callable[[], object] | None = None
           ) -> tuple[psycopg.Error | None, object]:
    """Run `statement` (and `then`) in a savepoint rolled back at once: the error it gave, and what `then` read."""
    conn.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        conn.execute("SET LOCAL client_min_messages = warning")  # no "drop cascades to" notices for a trial
        conn.execute(statement)  # type: ignore[arg-type]  # the migration's own statement, deparsed
        return None, then() if then is not None else None
    except psycopg.Error as exc:
        return exc, None
    finally:
        conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")


def _objects(conn: psycopg.Connection) -> set[tuple[int, int, int]]:
    return {(int(c), int(o), int(s)) for c, o, s in conn.execute(_OBJECTS).fetchall()}


def cascade_step(node: ast.DropStmt, what: str, restrict: Step, views: bool) -> Step:
    """DROP ... CASCADE: undone as the RESTRICT drop when that would go through; for views and materialized
    views with dependants, every dropped view recreated; else manual."""
    return trial_step(deparse(replace_node(node, behavior=DB.DROP_RESTRICT)), deparse(node), what, restrict, views)


def alter_cascade_step(node: ast.AlterTableStmt, what: str, plan: Callable[[ast.AlterTableStmt], Step]) -> Step:
    """ALTER TABLE ... DROP CONSTRAINT ... CASCADE (a key that foreign keys use): undone as the RESTRICT
    statement, planned by `plan`, when that would go through; else manual, naming what else goes."""
    cmds = tuple(replace_node(c, behavior=DB.DROP_RESTRICT)
                 if isinstance(c, ast.AlterTableCmd) and c.behavior == DB.DROP_CASCADE else c for c in node.cmds)
    restrict_node = replace_node(node, cmds=cmds)
    assert isinstance(restrict_node, ast.AlterTableStmt)
    restrict = plan(restrict_node)
    if restrict.after is not None:
        return Step(Inverse(manual=f"{what!r} drops dependent objects too (CASCADE)"))
    return trial_step(deparse(restrict_node), deparse(node), what, restrict, views=False)


def trial_step(restrict_sql: str, cascade_sql: str, what: str, restrict: Step, views: bool) -> Step:
    """A statement with CASCADE, tried in a savepoint as RESTRICT first (see the module's text)."""
    if restrict.read is None:  # fixed or manual without CASCADE: the same with it (or manual)
        return restrict if restrict.inverse is None or restrict.inverse.manual else Step(
            Inverse(manual=f"{what!r} drops dependent objects too (CASCADE)"))
    read = restrict.read

    def run(conn: psycopg.Connection) -> list[tuple]:
        if not _in_transaction(conn):
            return [("manual", f"{what!r} drops dependent objects too (CASCADE), which can only be read inside "
                               "a transaction")]
        error, _ = _trial(conn, restrict_sql)
        if error is None:
            return [("restrict", read.fetch(conn))]
        if error.sqlstate != _DEPENDENT_OBJECTS_STILL_EXIST:
            return [("manual", f"{what!r} could not be tried ({error.diag.message_primary})")]
        if not views:
            detail = (error.diag.message_detail or "").replace("\n", "; ")
            return [("manual", f"{what!r} drops dependent objects too (CASCADE): {detail}")]
        before = _objects(conn)
        error, after = _trial(conn, cascade_sql, lambda: _objects(conn))
        if error is not None:
            return [("manual", f"{what!r} could not be tried ({error.diag.message_primary})")]
        assert isinstance(after, set)
        return [("views", _recreate(conn, sorted(before - after), what))]

    def resolve(rows: list[tuple]) -> Inverse:
        how, data = rows[0]
        if how == "restrict":
            return read.resolve(data)
        if how == "manual":
            return Inverse(manual=data)
        return Inverse(manual=data) if isinstance(data, str) else Inverse(tuple(data))

    describe = f"{read.describe}; what CASCADE drops besides, tried in a savepoint (read when applied)"
    return Step(read=CatalogRead("-- a trial of the drop in a savepoint", (), _guard(resolve, describe), describe,
                                 run))


def view_drop_step(node: ast.DropStmt, what: str) -> Step:
    """DROP VIEW / DROP MATERIALIZED VIEW (without CASCADE): each view recreated with its parts."""
    names = [_names(obj) for obj in node.objects or ()]
    word = "materialized view" if node.removeType == OT.OBJECT_MATVIEW else "view"

    def run(conn: psycopg.Connection) -> list[tuple]:
        oids = [r[0] for r in conn.execute(
            "SELECT c.oid FROM pg_catalog.unnest(%s::text[]) WITH ORDINALITY u(name, i) "
            "JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(u.name) ORDER BY u.i", (names,)).fetchall()]
        if len(oids) < len(names) and not node.missing_ok:
            return [(f"{what!r}: a {word} to drop was not found",)]
        return [(_recreate_relations(conn, _ordered(conn, set(oids)), what) if oids else [],)]

    def resolve(rows: list[tuple]) -> Inverse:
        data = rows[0][0]
        return Inverse(manual=data) if isinstance(data, str) else (Inverse(tuple(data)) if data else NOTHING)

    describe = f"recreate {word} {', '.join(names)} (definition read when applied)"
    return Step(read=CatalogRead("-- the views' definitions", (), _guard(resolve, describe), describe, run))


def _recreate(conn: psycopg.Connection, dropped: list[tuple[int, int, int]], what: str) -> list[str] | str:
    """SQL recreating what a CASCADE trial dropped, or why it cannot be."""
    rows = conn.execute(_WHAT, ([c for c, _, _ in dropped], [o for _, o, _ in dropped],
                                [s for _, _, s in dropped])).fetchall()
    relations = {o for _, o, s, _, _, kind in rows if s == 0 and kind in ("v", "m")}
    others = sorted(describe for _, _, _, describe, owner, _ in rows if owner not in relations)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        return f"{what!r} also drops {shown} (CASCADE), which are not views that can be made again from the catalog"
    return _recreate_relations(conn, _ordered(conn, relations), what)


def _ordered(conn: psycopg.Connection, relations: set[int]) -> list[int]:
    """The views in an order to create them: each after the ones its query reads."""
    order = graphlib.TopologicalSorter({r: set() for r in sorted(relations)})
    for view, reads in conn.execute(_EDGES, (sorted(relations),)).fetchall():
        if reads in relations and reads != view:
            order.add(view, reads)
    return list(order.static_order())


def _recreate_relations(conn: psycopg.Connection, oids: list[int], what: str) -> list[str] | str:
    """CREATE [MATERIALIZED] VIEW for each (in this order), then their rules and triggers."""
    out: list[str] = []
    later: list[str] = []
    for oid in oids:
        kind, qname = conn.execute(_NAME, (oid,)).fetchone() or (None, None)
        if kind not in ("v", "m"):
            return f"{what!r}: {qname or oid} is not a view"
        rules, triggers, defaults, column_acls = conn.execute(_PARTS, {"oid": oid}).fetchone()  # type: ignore[misc]
        if kind == "m":
            made = _matview_sql(conn.execute(_MATVIEW, (qname,)).fetchall())
            if isinstance(made, str):
                return made
            out += made
        else:
            qn, definition, options, _, comment, acl, default, colcomments, owner = conn.execute(
                _VIEW, (qname,)).fetchone()  # type: ignore[misc]
            out += [_view_sql(qn, definition, options, False), *_comment(f"VIEW {qn}", comment)]
            for col, text in colcomments or []:
                out += _comment(f"COLUMN {qn}.{ident(col)}", text)
            for col, expr in defaults or []:
                out.append(f"ALTER VIEW {qn} ALTER COLUMN {ident(col)} SET DEFAULT {expr}")
            if owner:
                out.append(f"ALTER VIEW {qn} OWNER TO {owner}")
            out += _acl_restore(f"TABLE {qn}", acl, default)
        for col, grants in column_acls or []:
            for grantee, privilege, grantable in grants or []:
                out.append(f"GRANT {privilege} ({ident(col)}) ON TABLE {qname} TO {grantee}"
                           f"{' WITH GRANT OPTION' if grantable else ''}")
        for name, ruledef, comment, enabled in rules or []:
            if enabled != "O":
                return f"{what!r}: rule {name} on {qname} is not enabled as rules are by default"
            later += [ruledef, *_comment(f"RULE {ident(name)} ON {qname}", comment)]
        for name, triggerdef, enabled, comment in triggers or []:
            if enabled != "O":
                return f"{what!r}: trigger {name} on {qname} is not enabled as triggers are by default"
            later += _trigger_sql((triggerdef, enabled, comment, qname), name)
    return out + later
