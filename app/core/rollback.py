"""Rollback generation: invert a migration statement by statement, in reverse order.

The rule: the generated rollback restores the catalog exactly as it was before the
migration, or the migration is "manual". Where the earlier state matters (CREATE OR
REPLACE over an existing object, DROP of something whose definition can be read...), the
runner asks the catalog just before the statement runs, in the same transaction, through a
`CatalogRead` that this module provides; where the statement itself picks a name (an index
or constraint without one), a second read right after it (`Step.after`) finds it.

Names: the parse tree says what a statement touches; every lookup goes through
`to_regclass`-style lookups (`_proc_oid` for functions), which follow the session's search_path at
that moment (and return NULL rather than fail). Inverses keep names as the file wrote them;
when the file changes search_path, each inverse runs under the path its statement ran under.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pglast import ast, enums, keywords, parse_sql
from pglast.stream import RawStream

from app.core.sql import Statement
from app.core.status import RollbackKind  # one enum for every module (status shows it too)

OT = enums.ObjectType
AT = enums.AlterTableType
CT = enums.ConstrType
PM = enums.FunctionParameterMode
RS = enums.RoleSpecType
VK = enums.VariableSetKind

# search_path as the session had it before the migration (a marker for `Inverse.search_path`)
DEFAULT_PATH = "RESET search_path"


@dataclass(frozen=True)
class Inverse:
    """The inverse of one statement: SQL to run (possibly none), or why there is none."""

    sql: tuple[str, ...] = ()
    manual: str | None = None
    search_path: str | None = None  # statement that sets the path it must run under (None: as is)


NOTHING = Inverse()


@dataclass(frozen=True)
class CatalogRead:
    """A catalog query run just before a statement; `resolve` turns its rows into the inverse."""

    query: str
    params: tuple
    resolve: Callable[[list[tuple]], Inverse]
    describe: str  # for dry runs: what is read


@dataclass(frozen=True)
class Step:
    """What undoing one statement needs: a fixed inverse, or a catalog read first.

    `after`, when set, is called with the rows `read` gave and returns a second read that
    runs right after the statement; its `resolve` gives the inverse (used where the
    statement picks a name, as CREATE INDEX without one does).
    """

    inverse: Inverse | None = None
    read: CatalogRead | None = None
    after: Callable[[list[tuple]], CatalogRead] | None = None


@dataclass(frozen=True)
class RollbackPlan:
    """The rollback of a whole migration."""

    kind: RollbackKind
    sql: str | None
    reason: str = ""  # why manual


# --- SQL text ---------------------------------------------------------------------------------


def deparse(node: ast.Node) -> str:
    """SQL text of a parse node."""
    return RawStream()(node)


_KEYWORDS = keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS | keywords.COL_NAME_KEYWORDS


def ident(name: str) -> str:
    """A quoted identifier, as PostgreSQL's quote_ident would write it (keywords quoted too)."""
    if (name and (name[0].isalpha() or name[0] == "_") and name.replace("_", "a").replace("$", "a").isalnum()
            and name.islower() and name.isascii() and name not in _KEYWORDS):
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal (standard_conforming_strings is on since PostgreSQL 9.1)."""
    return "'" + text.replace("'", "''") + "'"


def _rv(rv: ast.RangeVar) -> str:
    return f"{ident(rv.schemaname)}.{ident(rv.relname)}" if rv.schemaname else ident(rv.relname)


def _names(names: Sequence[ast.Node] | None) -> str:
    return ".".join(ident(n.sval) for n in names or () if isinstance(n, ast.String))


def _strs(names: Sequence[ast.Node] | None) -> list[str]:
    return [n.sval for n in names or () if isinstance(n, ast.String)]


def _signature(owa: ast.ObjectWithArgs) -> str | None:
    """`name(type, ...)` of a function reference, None when its arguments are not written."""
    if owa.args_unspecified:
        return None
    return f"{_names(owa.objname)}({', '.join(deparse(t) for t in owa.objargs or ())})"


def _create_signature(name: Sequence[ast.Node], params: Sequence[ast.Node] | None) -> str:
    """The identity signature of a function being created: IN, INOUT and VARIADIC arguments only."""
    types = [
        deparse(p.argType) for p in params or ()
        if isinstance(p, ast.FunctionParameter) and p.mode not in (PM.FUNC_PARAM_OUT, PM.FUNC_PARAM_TABLE)
    ]
    return f"{_names(name)}({', '.join(types)})"


def _proc_oid(names: list[str], types: list[str] | None) -> tuple[str, tuple]:
    """SQL (a scalar subquery) and params: the oid of a function, found as the server would.

    Like to_regprocedure, but never an error (PostgreSQL before 16 raises one for an unknown
    argument type): schema-qualified, or the first schema of the session's search_path holding it.
    """
    params: list[object] = [names[-1]]
    where = "p.proname = %s"
    if len(names) > 1:
        where += " AND n.nspname = %s"
        params.append(names[-2])
    else:
        where += " AND n.nspname = ANY(pg_catalog.current_schemas(true))"
    if types is not None:
        args = ", ".join("pg_catalog.to_regtype(%s)::oid" for _ in types)
        # oidvector's text is its oids separated by spaces (an unknown type, NULL, matches nothing)
        where += f" AND p.proargtypes::text = pg_catalog.array_to_string(ARRAY[{args}]::oid[], ' ', '-')"
        params.extend(types)
    return (f"(SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
            f"WHERE {where} ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname::text) "
            f"LIMIT 1)", tuple(params))


def _owa_oid(owa: ast.ObjectWithArgs) -> tuple[str, tuple]:
    types = None if owa.args_unspecified else [deparse(t) for t in owa.objargs or ()]
    return _proc_oid(_strs(owa.objname), types)


def _create_oid(name: Sequence[ast.Node], params: Sequence[ast.Node] | None) -> tuple[str, tuple]:
    types = [
        deparse(p.argType) for p in params or ()
        if isinstance(p, ast.FunctionParameter) and p.mode not in (PM.FUNC_PARAM_OUT, PM.FUNC_PARAM_TABLE)
    ]
    return _proc_oid(_strs(name), types)


def _role(spec: ast.RoleSpec) -> str:
    return "PUBLIC" if spec.roletype == RS.ROLESPEC_PUBLIC else deparse(spec)


# --- building steps ---------------------------------------------------------------------------


def _fixed(*sql: str) -> Step:
    return Step(Inverse(tuple(sql)))


def _manual(reason: str) -> Step:
    return Step(Inverse(manual=reason))


def _read(query: str, params: tuple, resolve: Callable[[list[tuple]], Inverse], describe: str,
          after: Callable[[list[tuple]], CatalogRead] | None = None) -> Step:
    return Step(read=CatalogRead(query, params, _guard(resolve, describe), describe), after=after)


def _guard(resolve: Callable[[list[tuple]], Inverse], what: str) -> Callable[[list[tuple]], Inverse]:
    """A resolve that turns an unexpected catalog answer into "manual" rather than a crash mid-migration."""
    def safe(rows: list[tuple]) -> Inverse:
        try:
            return resolve(rows)
        except (LookupError, TypeError, ValueError, AttributeError) as exc:
            return Inverse(manual=f"could not work out the inverse from the catalog ({what}: {exc!r})")
    return safe


def _unless_exists(exists_sql: str, params: tuple, inverse: tuple[str, ...], what: str) -> Step:
    """IF NOT EXISTS: nothing to undo when the object was already there."""
    return _read(f"SELECT {exists_sql}", params,
                 lambda rows: NOTHING if rows and rows[0][0] else Inverse(inverse),
                 f"drop {what} unless it existed before (read when applied)")


def _in_creation_schema(name_param: str = "%s") -> str:
    """SQL: the regclass text of an unqualified name in the schema CREATE would use."""
    return f"pg_catalog.quote_ident(pg_catalog.current_schema()) || '.' || pg_catalog.quote_ident({name_param})"


def _relation_exists(rv: ast.RangeVar) -> tuple[str, tuple]:
    """SQL and params: does the relation CREATE ... IF NOT EXISTS would make already exist."""
    if rv.schemaname:
        return "pg_catalog.to_regclass(%s) IS NOT NULL", (_rv(rv),)
    return f"pg_catalog.to_regclass({_in_creation_schema()}) IS NOT NULL", (rv.relname,)


# --- catalog reads used by several statements -------------------------------------------------

_QNAME = "pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)"

# ACL entries as [grantee name, privilege, grantable]; the owner is named, PUBLIC is PUBLIC.
_ACL_JSON = """(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(
      CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
      a.privilege_type, a.is_grantable) ORDER BY a.grantee, a.privilege_type)
    FROM pg_catalog.aclexplode({acl}) a)"""


def _acl_json(acl: str, kind: str, owner: str, *, default: bool = False) -> str:
    expr = f"pg_catalog.acldefault({kind}, {owner})" if default else acl
    return _ACL_JSON.format(acl=expr)


def _acl_restore(target: str, acl: list | None, default: list | None) -> list[str]:
    """GRANT/REVOKE turning a just-created object's default privileges into `acl` (None: default)."""
    if acl is None:
        return []
    have = {(g, p): opt for g, p, opt in default or []}
    want = {(g, p): opt for g, p, opt in acl}
    out = []
    for (g, p), opt in sorted(have.items()):
        if (g, p) not in want:
            out.append(f"REVOKE {p} ON {target} FROM {g}")
        elif opt and not want[(g, p)]:
            out.append(f"REVOKE GRANT OPTION FOR {p} ON {target} FROM {g}")
    for (g, p), opt in sorted(want.items()):
        if have.get((g, p)) is None or (opt and not have[(g, p)]):
            out.append(f"GRANT {p} ON {target} TO {g}{' WITH GRANT OPTION' if opt else ''}")
    return out


def _comment(target: str, text: str | None) -> list[str]:
    return [f"COMMENT ON {target} IS {literal(text)}"] if text is not None else []


# --- statements with no lasting effect, or that change data -----------------------------------

_NO_EFFECT = (
    ast.VariableSetStmt, ast.VariableShowStmt, ast.LockStmt, ast.NotifyStmt, ast.ListenStmt, ast.UnlistenStmt,
    ast.CheckPointStmt, ast.DiscardStmt, ast.DeclareCursorStmt, ast.FetchStmt, ast.ClosePortalStmt,
    ast.PrepareStmt, ast.DeallocateStmt, ast.VacuumStmt, ast.ReindexStmt, ast.RefreshMatViewStmt,
    ast.TransactionStmt, ast.LoadStmt,
)

_DATA = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.TruncateStmt, ast.MergeStmt)


def step_for(st: Statement) -> Step:
    """How to undo one statement."""
    node = st.node
    what = st.first_line
    try:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(node, what)
    except _Manual as exc:
        return _manual(str(exc))
    except (LookupError, TypeError, ValueError, AttributeError) as exc:  # a parse tree shape not foreseen
        return _manual(f"no inverse could be worked out for {what!r} ({exc!r})")
    if isinstance(node, _NO_EFFECT):
        return Step(NOTHING)
    if isinstance(node, _DATA):
        return _manual(f"{what!r} changes data")
    if isinstance(node, ast.DoStmt):
        return _manual(f"{what!r} runs a DO block, whose effects cannot be read")
    if isinstance(node, ast.CallStmt):
        return _manual(f"{what!r} calls a procedure, whose effects cannot be read")
    return _manual(f"no inverse is known for {what!r}")


class _Manual(Exception):
    """Raised by a handler: the statement cannot be inverted exactly (the message says why)."""


# --- SELECT, EXPLAIN, COPY --------------------------------------------------------------------


def _select(node: ast.SelectStmt, what: str) -> Step:
    if node.intoClause is not None:
        raise _Manual(f"{what!r} (SELECT INTO) creates a table from data")
    return Step(NOTHING)


def _explain(node: ast.ExplainStmt, what: str) -> Step:
    analyze = any(isinstance(o, ast.DefElem) and o.defname == "analyze" for o in node.options or ())
    if analyze and not isinstance(node.query, ast.SelectStmt):
        raise _Manual(f"{what!r} runs the statement it explains")
    return Step(NOTHING)


def _cluster(node: ast.ClusterStmt, what: str) -> Step:
    if node.indexname:
        raise _Manual(f"{what!r} marks an index as the table's clustering index")
    return Step(NOTHING)  # reorders rows along the index already marked: the catalog stays


def _copy(node: ast.CopyStmt, what: str) -> Step:
    if node.is_from:
        raise _Manual(f"{what!r} loads data")
    return Step(NOTHING)


# --- CREATE -----------------------------------------------------------------------------------


def _create_table(node: ast.CreateStmt | ast.CreateForeignTableStmt, what: str) -> Step:
    kind = "FOREIGN TABLE" if isinstance(node, ast.CreateForeignTableStmt) else "TABLE"
    if isinstance(node, ast.CreateForeignTableStmt):
        node = node.base
    rv = node.relation
    if rv.relpersistence == "t":
        return Step(NOTHING)  # a temporary table ends with the session
    drop = (f"DROP {kind} {_rv(rv)}",)
    if node.if_not_exists:
        sql, params = _relation_exists(rv)
        return _unless_exists(sql, params, drop, f"table {_rv(rv)}")
    return _fixed(*drop)


def _create_table_as(node: ast.CreateTableAsStmt, what: str) -> Step:
    if node.objtype != OT.OBJECT_MATVIEW:
        raise _Manual(f"{what!r} (CREATE TABLE AS) creates a table from data")
    rv = node.into.rel
    drop = (f"DROP MATERIALIZED VIEW {_rv(rv)}",)
    if node.if_not_exists:
        sql, params = _relation_exists(rv)
        return _unless_exists(sql, params, drop, f"materialized view {_rv(rv)}")
    return _fixed(*drop)


_INDEX_NAMES = f"""
SELECT {_QNAME} FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE x.indrelid = pg_catalog.to_regclass(%s)"""


def _create_index(node: ast.IndexStmt, what: str) -> Step:
    rv = node.relation
    drop = "DROP INDEX CONCURRENTLY IF EXISTS" if node.concurrent else "DROP INDEX"
    if node.idxname:
        name = f"{ident(rv.schemaname)}.{ident(node.idxname)}" if rv.schemaname else ident(node.idxname)
        if not node.if_not_exists:
            return _fixed(f"{drop} {name}")
        exists = ("pg_catalog.to_regclass((SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_class c "
                  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(%s))"
                  " || '.' || pg_catalog.quote_ident(%s)) IS NOT NULL")
        return _unless_exists(exists, (_rv(rv), node.idxname), (f"{drop} {name}",), f"index {node.idxname}")

    # The server picks the name: list the table's indexes before, find the new one after.
    def after(rows: list[tuple]) -> CatalogRead:
        before = [r[0] for r in rows]

        def resolve(now: list[tuple]) -> Inverse:
            new = [r[0] for r in now if r[0] not in before]
            if len(new) != 1:
                return Inverse(manual=f"could not tell which index {what!r} created")
            return Inverse((f"{drop} {new[0]}",))

        return CatalogRead(_INDEX_NAMES, (_rv(rv),), _guard(resolve, what),
            f"the name the server gave the new index on {_rv(rv)}")

    return _read(_INDEX_NAMES, (_rv(rv),), lambda rows: NOTHING,
        f"drop the index the server names on {_rv(rv)} (read when applied)", after)


_FUNCTION = """
SELECT pg_catalog.pg_get_functiondef(p.oid), p.pronargdefaults, p.prokind::text
FROM pg_catalog.pg_proc p WHERE p.oid = {lookup}"""


def _create_function(node: ast.CreateFunctionStmt, what: str) -> Step:
    kind = "PROCEDURE" if node.is_procedure else "FUNCTION"
    sig = _create_signature(node.funcname, node.parameters)
    drop = f"DROP {kind} {sig}"
    if not node.replace:
        return _fixed(drop)
    new_defaults = sum(1 for p in node.parameters or () if isinstance(p, ast.FunctionParameter) and p.defexpr)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse((drop,))
        definition, old_defaults, _ = rows[0]
        if new_defaults > old_defaults:
            return Inverse(manual=f"{what!r} adds parameter defaults, which CREATE OR REPLACE cannot take away")
        return Inverse((definition,))

    lookup, params = _create_oid(node.funcname, node.parameters)
    return _read(_FUNCTION.format(lookup=lookup), params, resolve,
        f"restore the previous definition of {sig}, or drop it (read when applied)")


_VIEW = f"""
SELECT {_QNAME}, pg_catalog.pg_get_viewdef(c.oid), c.reloptions, c.relnatts,
  pg_catalog.obj_description(c.oid, 'pg_class'),
  {_acl_json('c.relacl', "'r'", 'c.relowner')}, {_acl_json('', "'r'", 'c.relowner', default=True)},
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, d.description)) FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = c.oid
      AND d.objsubid = a.attnum WHERE a.attrelid = c.oid AND a.attnum > 0)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind = 'v'"""


def _view_sql(name: str, definition: str, options: list[str] | None, replace_: bool) -> str:
    with_ = f" WITH ({', '.join(options)})" if options else ""
    return f"CREATE {'OR REPLACE ' if replace_ else ''}VIEW {name}{with_} AS {definition.strip().rstrip(';')}"


def _create_view(node: ast.ViewStmt, what: str) -> Step:
    name = _rv(node.view)
    if node.view.relpersistence == "t":
        return Step(NOTHING)
    drop = f"DROP VIEW {name}"
    if not node.replace:
        return _fixed(drop)

    def before(rows: list[tuple]) -> Inverse:
        return Inverse((drop,)) if not rows else NOTHING

    def after(rows: list[tuple]) -> CatalogRead:
        if not rows:
            return CatalogRead("SELECT 1", (), lambda _: Inverse((drop,)), "nothing")
        qname, definition, options, natts = rows[0][:4]

        def resolve(now: list[tuple]) -> Inverse:
            if now and now[0][3] != natts:
                return Inverse(manual=f"{what!r} adds columns to {qname}, which CREATE OR REPLACE cannot take away")
            return Inverse((_view_sql(qname, definition, options, True),))

        return CatalogRead(_VIEW, (name,), resolve, f"the columns of view {name}")

    return _read(_VIEW, (name,), before,
        f"restore the previous definition of view {name}, or drop it (read when applied)", after)


def _create_seq(node: ast.CreateSeqStmt, what: str) -> Step:
    rv = node.sequence
    if rv.relpersistence == "t":
        return Step(NOTHING)
    drop = (f"DROP SEQUENCE {_rv(rv)}",)
    if node.if_not_exists:
        sql, params = _relation_exists(rv)
        return _unless_exists(sql, params, drop, f"sequence {_rv(rv)}")
    return _fixed(*drop)


def _type_exists(names: Sequence[ast.Node]) -> tuple[str, tuple]:
    strs = _strs(names)
    if len(strs) > 1:
        return "pg_catalog.to_regtype(%s) IS NOT NULL", (_names(names),)
    return f"pg_catalog.to_regtype({_in_creation_schema()}) IS NOT NULL", (strs[0],)


def _create_type(node: ast.Node, what: str) -> Step:
    match node:
        case ast.CompositeTypeStmt():
            name = _rv(node.typevar)
        case ast.CreateEnumStmt() | ast.CreateRangeStmt():
            name = _names(node.typeName)
        case _:
            raise _Manual(f"no inverse is known for {what!r}")
    return _fixed(f"DROP TYPE {name}")


def _define(node: ast.DefineStmt, what: str) -> Step:
    if node.replace:
        raise _Manual(f"{what!r} may replace an existing object")
    name = _names(node.defnames)
    if node.kind == OT.OBJECT_TYPE:
        drop = (f"DROP TYPE {name}",)
        if node.if_not_exists:
            sql, params = _type_exists(node.defnames)
            return _unless_exists(sql, params, drop, f"type {name}")
        return _fixed(*drop)
    if node.kind == OT.OBJECT_COLLATION and not node.if_not_exists:
        return _fixed(f"DROP COLLATION {name}")
    raise _Manual(f"no inverse is known for {what!r}")


def _create_domain(node: ast.CreateDomainStmt, what: str) -> Step:
    return _fixed(f"DROP DOMAIN {_names(node.domainname)}")


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


def _create_policy(node: ast.CreatePolicyStmt, what: str) -> Step:
    return _fixed(f"DROP POLICY {ident(node.policy_name)} ON {_rv(node.table)}")


def _create_schema(node: ast.CreateSchemaStmt, what: str) -> Step:
    name = node.schemaname
    if name is None:
        if node.authrole is None or node.authrole.roletype != RS.ROLESPEC_CSTRING:
            raise _Manual(f"{what!r}: the schema's name depends on the role running it")
        name = node.authrole.rolename
    drop = (f"DROP SCHEMA {ident(name)}{' CASCADE' if node.schemaElts else ''}",)
    if node.if_not_exists:
        return _unless_exists("pg_catalog.to_regnamespace(%s) IS NOT NULL", (ident(name),), drop, f"schema {name}")
    return _fixed(*drop)


def _create_extension(node: ast.CreateExtensionStmt, what: str) -> Step:
    if any(isinstance(o, ast.DefElem) and o.defname == "cascade" for o in node.options or ()):
        raise _Manual(f"{what!r} may install other extensions (CASCADE)")
    drop = (f"DROP EXTENSION {ident(node.extname)}",)
    if node.if_not_exists:
        return _unless_exists("EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = %s)",
                              (node.extname,), drop, f"extension {node.extname}")
    return _fixed(*drop)


def _create_stats(node: ast.CreateStatsStmt, what: str) -> Step:
    if not node.defnames or node.if_not_exists:
        raise _Manual(f"no inverse is known for {what!r}")
    return _fixed(f"DROP STATISTICS {_names(node.defnames)}")


def _create_rule(node: ast.RuleStmt, what: str) -> Step:
    if node.replace:
        raise _Manual(f"{what!r} may replace an existing rule")
    return _fixed(f"DROP RULE {ident(node.rulename)} ON {_rv(node.relation)}")


def _simple_drop(kind: str, attr: str) -> Callable[[ast.Node, str], Step]:
    def handler(node: ast.Node, what: str) -> Step:
        if getattr(node, "if_not_exists", False) or getattr(node, "replace", False):
            raise _Manual(f"{what!r} may meet an existing object")
        return _fixed(f"DROP {kind} {ident(getattr(node, attr))}")
    return handler


# --- ALTER TABLE --------------------------------------------------------------------------------

_RELATION = f"""
SELECT {_QNAME}, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity, c.reloptions,
  (SELECT pg_catalog.json_object_agg(a.attname, pg_catalog.json_build_object(
      'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'typname', t.typname, 'typmod', a.atttypmod,
      'notnull', a.attnotnull, 'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid),
      'generated', a.attgenerated::text <> '' OR a.attidentity::text <> '',
      'collation', CASE WHEN a.attcollation <> t.typcollation THEN (
         SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
         FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
         WHERE co.oid = a.attcollation) END))
   FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
   LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT pg_catalog.json_object_agg(co.conname, pg_catalog.json_build_object(
      'def', pg_catalog.pg_get_constraintdef(co.oid), 'type', co.contype::text, 'validated', co.convalidated,
      'comment', pg_catalog.obj_description(co.oid, 'pg_constraint')))
   FROM pg_catalog.pg_constraint co WHERE co.conrelid = c.oid),
  (SELECT pg_catalog.json_object_agg(t.tgname, t.tgenabled::text)
   FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
  pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(c.relowner))
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s)"""


@dataclass(frozen=True)
class _Rel:
    qname: str
    relkind: str
    rls: bool
    force_rls: bool
    options: list[str]
    columns: dict[str, dict]
    constraints: dict[str, dict]
    triggers: dict[str, str]
    owner: str


_KIND_WORD = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW",
              "i": "INDEX", "I": "INDEX", "S": "SEQUENCE", "c": "TYPE"}

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


def _alter_table(node: ast.AlterTableStmt, what: str) -> Step:
    rel = _rv(node.relation)
    cmds = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    if node.objtype == OT.OBJECT_TYPE:
        return _alter_composite(node, cmds, what)
    static: list[str] = []
    needs_read = bool(node.missing_ok)
    for cmd in cmds:
        if cmd.subtype == AT.AT_AddColumn and not cmd.missing_ok:
            static.append(f"ALTER TABLE {rel} DROP COLUMN {ident(cmd.def_.colname)}")
        elif (cmd.subtype == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint) and cmd.def_.conname
              and cmd.def_.contype != CT.CONSTR_PRIMARY and not cmd.def_.indexname):
            static.append(f"ALTER TABLE {rel} DROP CONSTRAINT {ident(cmd.def_.conname)}")
        elif cmd.subtype == AT.AT_AddIdentity:  # the column had none (else the statement fails)
            static.append(f"ALTER TABLE {rel} ALTER COLUMN {ident(cmd.name)} DROP IDENTITY")
        elif cmd.subtype in _NEEDS_READ or cmd.subtype == AT.AT_AddColumn or cmd.subtype == AT.AT_AddConstraint:
            needs_read = True
        else:
            if cmd.subtype == AT.AT_DropColumn:
                raise _Manual(f"{what!r} drops a column and its data")
            raise _Manual(f"no inverse is known for {what!r} ({cmd.subtype.name[3:]})")
    if not needs_read:
        return _fixed(*reversed(static))

    adds_unnamed = any(cmd.subtype == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint)
                       and not cmd.def_.conname for cmd in cmds)

    def plan(rows: list[tuple], after_rows: list[tuple] | None) -> Inverse:
        if not rows:
            if node.missing_ok:
                return NOTHING
            return Inverse(manual=f"{what!r}: {rel} was not found")
        r = _Rel(*rows[0][:5], rows[0][5] or {}, rows[0][6] or {}, rows[0][7] or {}, rows[0][8])
        per_cmd: list[list[str]] = []
        for cmd in cmds:
            inv = _invert_cmd(cmd, r, what, after_rows)
            if isinstance(inv, str):
                return Inverse(manual=inv)
            per_cmd.append(inv)
        return Inverse(tuple(sql for inv in reversed(per_cmd) for sql in inv))

    if not adds_unnamed:
        return _read(_RELATION, (rel,), lambda rows: plan(rows, None),
            f"undo the changes to {rel} from its columns and constraints (read when applied)")

    def after(rows: list[tuple]) -> CatalogRead:
        return CatalogRead(_RELATION, (rel,), lambda now: plan(rows, now), f"the new constraints of {rel}")

    return _read(_RELATION, (rel,), lambda rows: NOTHING,
        f"undo the changes to {rel} from its columns and constraints (read when applied)", after)


_NEEDS_READ = {
    AT.AT_ColumnDefault, AT.AT_SetNotNull, AT.AT_DropNotNull, AT.AT_AlterColumnType, AT.AT_DropConstraint,
    AT.AT_EnableRowSecurity, AT.AT_DisableRowSecurity, AT.AT_ForceRowSecurity, AT.AT_NoForceRowSecurity,
    AT.AT_SetRelOptions, AT.AT_ResetRelOptions, AT.AT_ChangeOwner, AT.AT_EnableTrig, AT.AT_DisableTrig,
    AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig, AT.AT_ValidateConstraint,
}


def _invert_cmd(cmd: ast.AlterTableCmd, r: _Rel, what: str, after_rows: list[tuple] | None) -> list[str] | str:
    """The statements undoing one ALTER TABLE command (in the order to run them), or why none can."""
    at = f"ALTER {_KIND_WORD.get(r.relkind, 'TABLE')} {r.qname}"
    col = r.columns.get(cmd.name) if cmd.name else None
    sub = cmd.subtype
    if sub in (AT.AT_ColumnDefault, AT.AT_SetNotNull, AT.AT_DropNotNull, AT.AT_AlterColumnType) and col is None:
        return f"{what!r}: column {cmd.name} of {r.qname} was not found"
    if sub == AT.AT_AddColumn:
        name = cmd.def_.colname
        if cmd.missing_ok and name in r.columns:
            return []
        return [f"{at} DROP COLUMN {ident(name)}"]
    if sub == AT.AT_AddIdentity:
        return [f"{at} ALTER COLUMN {ident(cmd.name)} DROP IDENTITY"]
    if sub == AT.AT_ColumnDefault:
        if col["default"] is None:
            return [f"{at} ALTER COLUMN {ident(cmd.name)} DROP DEFAULT"]
        return [f"{at} ALTER COLUMN {ident(cmd.name)} SET DEFAULT {col['default']}"]
    if sub in (AT.AT_SetNotNull, AT.AT_DropNotNull):
        if col["notnull"] == (sub == AT.AT_SetNotNull):
            return []
        return [f"{at} ALTER COLUMN {ident(cmd.name)} {'DROP' if col['notnull'] is False else 'SET'} NOT NULL"]
    if sub == AT.AT_AlterColumnType:
        return _invert_type(cmd, col, at, what, r)
    if sub == AT.AT_AddConstraint:
        return _invert_add_constraint(cmd.def_, r, at, what, after_rows)
    if sub == AT.AT_DropConstraint:
        if cmd.behavior == enums.DropBehavior.DROP_CASCADE:
            return f"{what!r} drops dependent objects too (CASCADE)"
        con = r.constraints.get(cmd.name)
        if con is None:
            return [] if cmd.missing_ok else f"{what!r}: constraint {cmd.name} was not found"
        if con["type"] == "n":
            return f"{what!r} drops a NOT NULL constraint"
        return [f"{at} ADD CONSTRAINT {ident(cmd.name)} {con['def']}",
                *_comment(f"CONSTRAINT {ident(cmd.name)} ON {r.qname}", con["comment"])]
    if sub == AT.AT_ValidateConstraint:
        con = r.constraints.get(cmd.name)
        if con is not None and con["validated"]:
            return []
        return f"{what!r} validates a constraint, which cannot be made NOT VALID again"
    if sub in (AT.AT_EnableRowSecurity, AT.AT_DisableRowSecurity):
        was = r.rls
        return [] if was == (sub == AT.AT_EnableRowSecurity) else [
            f"{at} {'ENABLE' if was else 'DISABLE'} ROW LEVEL SECURITY"]
    if sub in (AT.AT_ForceRowSecurity, AT.AT_NoForceRowSecurity):
        was = r.force_rls
        return [] if was == (sub == AT.AT_ForceRowSecurity) else [
            f"{at} {'FORCE' if was else 'NO FORCE'} ROW LEVEL SECURITY"]
    if sub in (AT.AT_SetRelOptions, AT.AT_ResetRelOptions):
        old = dict(o.split("=", 1) for o in r.options or [])
        keys = [f"{d.defnamespace + '.' if d.defnamespace else ''}{d.defname}" for d in cmd.def_ or ()]
        reset = [k for k in keys if k not in old]
        back = [f"{k}={literal(old[k])}" for k in keys if k in old]
        return ([f"{at} RESET ({', '.join(reset)})"] if reset else []) + (
            [f"{at} SET ({', '.join(back)})"] if back else [])
    if sub == AT.AT_ChangeOwner:
        return [f"{at} OWNER TO {r.owner}"]
    if sub in (AT.AT_EnableTrig, AT.AT_DisableTrig, AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig):
        state = r.triggers.get(cmd.name)
        if state is None:
            return f"{what!r}: trigger {cmd.name} was not found"
        word = _ENABLE.get(state, "ENABLE TRIGGER")
        return [f"ALTER TABLE {r.qname} {word} {ident(cmd.name)}"]
    return f"no inverse is known for {what!r}"


def _invert_type(cmd: ast.AlterTableCmd, col: dict, at: str, what: str, r: _Rel) -> list[str] | str:
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
        return f"{what!r} narrows or converts the column's type: the old values may not fit back"
    out = [f"{at} ALTER COLUMN {ident(cmd.name)} TYPE {col['type']}"
           + (f" COLLATE {col['collation']}" if col["collation"] else "")]
    if col["default"] is not None:
        out.append(f"{at} ALTER COLUMN {ident(cmd.name)} SET DEFAULT {col['default']}")
    return out


def _invert_add_constraint(con: ast.Constraint, r: _Rel, at: str, what: str,
                           after_rows: list[tuple] | None) -> list[str] | str:
    if con.indexname:
        return f"{what!r} turns an existing index into a constraint"
    name = con.conname
    if not name:
        now = (after_rows or [[None] * 9])[0][6] or {}
        new = [n for n, c in now.items() if n not in r.constraints and c["type"] != "n"]
        if len(new) != 1:
            return f"could not tell which constraint {what!r} created"
        name = new[0]
    out = [f"{at} DROP CONSTRAINT {ident(name)}"]
    if con.contype == CT.CONSTR_PRIMARY:
        # a primary key makes its columns NOT NULL, and dropping it leaves them so
        for key in con.keys or ():
            c = r.columns.get(key.sval)
            if c is not None and not c["notnull"]:
                out.append(f"{at} ALTER COLUMN {ident(key.sval)} DROP NOT NULL")
    return out


def _alter_composite(node: ast.AlterTableStmt, cmds: list[ast.AlterTableCmd], what: str) -> Step:
    name = _rv(node.relation)
    out = []
    for cmd in cmds:
        if cmd.subtype != AT.AT_AddColumn:
            raise _Manual(f"no inverse is known for {what!r}")
        out.append(f"ALTER TYPE {name} DROP ATTRIBUTE {ident(cmd.def_.colname)}")
    return _fixed(*reversed(out))


# --- RENAME, SET SCHEMA -----------------------------------------------------------------------


def _rename(node: ast.RenameStmt, what: str) -> Step:
    if node.missing_ok:
        raise _Manual(f"{what!r} (IF EXISTS) may do nothing")
    inv = copy.deepcopy(node)
    t = node.renameType
    if t in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_INDEX, OT.OBJECT_SEQUENCE,
             OT.OBJECT_FOREIGN_TABLE):
        inv.relation.relname = node.newname
        inv.newname = node.relation.relname
    elif t in (OT.OBJECT_COLUMN, OT.OBJECT_ATTRIBUTE, OT.OBJECT_TABCONSTRAINT, OT.OBJECT_DOMCONSTRAINT,
               OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE) or t in (OT.OBJECT_SCHEMA,):
        inv.subname, inv.newname = node.newname, node.subname
    elif t in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE, OT.OBJECT_AGGREGATE):
        names = list(node.object.objname)
        old = names[-1].sval
        names[-1] = ast.String(node.newname)
        inv.object.objname = tuple(names)
        inv.newname = old
    elif t in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN, OT.OBJECT_STATISTIC_EXT, OT.OBJECT_COLLATION):
        names = list(node.object)
        old = names[-1].sval
        names[-1] = ast.String(node.newname)
        inv.object = tuple(names)
        inv.newname = old
    else:
        raise _Manual(f"no inverse is known for {what!r}")
    return _fixed(deparse(inv))


def _alter_enum(node: ast.AlterEnumStmt, what: str) -> Step:
    if node.oldVal is None:
        raise _Manual(f"{what!r} adds an enum value, which cannot be removed")
    return _fixed(f"ALTER TYPE {_names(node.typeName)} RENAME VALUE {literal(node.newVal)} TO {literal(node.oldVal)}")


def _set_schema(node: ast.AlterObjectSchemaStmt, what: str) -> Step:
    if node.missing_ok:
        raise _Manual(f"{what!r} (IF EXISTS) may do nothing")
    if node.relation is not None:
        rel = node.relation
        kind = _KIND_WORD.get({OT.OBJECT_TABLE: "r", OT.OBJECT_VIEW: "v", OT.OBJECT_MATVIEW: "m",
                               OT.OBJECT_SEQUENCE: "S", OT.OBJECT_FOREIGN_TABLE: "f"}.get(node.objectType, ""))
        if kind is None:
            raise _Manual(f"no inverse is known for {what!r}")

        def resolve(rows: list[tuple]) -> Inverse:
            if not rows:
                return Inverse(manual=f"{what!r}: {_rv(rel)} was not found")
            return Inverse((f"ALTER {kind} {ident(node.newschema)}.{ident(rel.relname)} SET SCHEMA {rows[0][0]}",))

        return _read("SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace"
                     " n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(%s)", (_rv(rel),), resolve,
                     f"move {_rv(rel)} back to its schema (read when applied)")
    raise _Manual(f"no inverse is known for {what!r}")


# --- DROP -------------------------------------------------------------------------------------

_DROP_INDEX = f"""
SELECT {_QNAME}, pg_catalog.pg_get_indexdef(c.oid), pg_catalog.obj_description(c.oid, 'pg_class'),
  x.indisclustered, pg_catalog.quote_ident(c.relname),
  (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
    FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace WHERE t.oid = x.indrelid)
FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s)"""

_DROP_FUNCTION = """
SELECT pg_catalog.pg_get_functiondef(p.oid), p.prokind::text,
  pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
    || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')',
  pg_catalog.obj_description(p.oid, 'pg_proc'), {acl}, {default}
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid = {lookup}"""

_POLICY = f"""
SELECT {_QNAME}, p.polpermissive, p.polcmd::text,
  (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
     ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY r)
   FROM pg_catalog.unnest(p.polroles) r),
  pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
  pg_catalog.obj_description(p.oid, 'pg_policy')
FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE p.polrelid = pg_catalog.to_regclass(%s) AND p.polname = %s"""

_CMD = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}

_RULE = """SELECT pg_catalog.pg_get_ruledef(r.oid), pg_catalog.obj_description(r.oid, 'pg_rewrite')
FROM pg_catalog.pg_rewrite r WHERE r.ev_class = pg_catalog.to_regclass(%s) AND r.rulename = %s"""


def _policy_sql(row: tuple, name: str) -> list[str]:
    qtable, permissive, cmd, roles, qual, check, comment = row
    sql = (f"CREATE POLICY {ident(name)} ON {qtable} AS {'PERMISSIVE' if permissive else 'RESTRICTIVE'}"
           f" FOR {_CMD.get(cmd, 'ALL')} TO {roles}")
    if qual is not None:
        sql += f" USING ({qual})"
    if check is not None:
        sql += f" WITH CHECK ({check})"
    return [sql, *_comment(f"POLICY {ident(name)} ON {qtable}", comment)]


def _drop(node: ast.DropStmt, what: str) -> Step:
    if node.behavior == enums.DropBehavior.DROP_CASCADE:
        raise _Manual(f"{what!r} drops dependent objects too (CASCADE)")
    t = node.removeType
    reads: list[tuple[str, tuple, Callable[[list[tuple]], list[str] | str], str]] = []
    for obj in node.objects or ():
        if t == OT.OBJECT_INDEX:
            name = _names(obj)

            def index(rows: list[tuple], concurrent: bool = bool(node.concurrent)) -> list[str] | str:
                qname, definition, comment, clustered, relname, qtable = rows[0]
                if concurrent:
                    definition = definition.replace(" INDEX ", " INDEX CONCURRENTLY ", 1)
                out = [definition, *_comment(f"INDEX {qname}", comment)]
                if clustered:
                    out.append(f"ALTER TABLE {qtable} CLUSTER ON {relname}")
                return out

            reads.append((_DROP_INDEX, (name,), index, f"recreate index {name} (definition read when applied)"))
        elif t == OT.OBJECT_VIEW:
            name = _names(obj)

            def view(rows: list[tuple]) -> list[str] | str:
                qname, definition, options, _, comment, acl, default, colcomments = rows[0]
                out = [_view_sql(qname, definition, options, False), *_comment(f"VIEW {qname}", comment)]
                for col, text in colcomments or []:
                    out += _comment(f"COLUMN {qname}.{ident(col)}", text)
                return out + _acl_restore(f"TABLE {qname}", acl, default)

            reads.append((_VIEW, (name,), view, f"recreate view {name} (definition read when applied)"))
        elif t in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
            sig = _signature(obj)
            lookup, lparams = _owa_oid(obj)
            query = _DROP_FUNCTION.format(acl=_acl_json("p.proacl", "'f'", "p.proowner"),
                                          default=_acl_json("", "'f'", "p.proowner", default=True), lookup=lookup)

            def function(rows: list[tuple]) -> list[str] | str:
                definition, prokind, qsig, comment, acl, default = rows[0]
                if prokind not in ("f", "p"):
                    return f"{what!r} drops an aggregate or window function"
                word = "PROCEDURE" if prokind == "p" else "FUNCTION"
                return [definition, *_comment(f"{word} {qsig}", comment), *_acl_restore(f"{word} {qsig}", acl, default)]

            key = sig or _names(obj.objname)
            reads.append((query, lparams, function, f"recreate {key} (definition read when applied)"))
        elif t in (OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE):
            names = _strs(obj)
            table, name = ".".join(ident(n) for n in names[:-1]), names[-1]
            if t == OT.OBJECT_TRIGGER:
                reads.append((_TRIGGER, (table, name), lambda rows, n=name: _trigger_sql(rows[0], n),
                              f"recreate trigger {name} on {table} (definition read when applied)"))
            elif t == OT.OBJECT_POLICY:
                reads.append((_POLICY, (table, name), lambda rows, n=name: _policy_sql(rows[0], n),
                              f"recreate policy {name} on {table} (definition read when applied)"))
            else:
                reads.append((_RULE, (table, name),
                              lambda rows, n=name, tb=table: [rows[0][0], *_comment(f"RULE {ident(n)} ON {tb}",
                                                                                    rows[0][1])],
                              f"recreate rule {name} on {table} (definition read when applied)"))
        elif t in (OT.OBJECT_TABLE, OT.OBJECT_FOREIGN_TABLE, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE):
            raise _Manual(f"{what!r} destroys data")
        elif t == OT.OBJECT_SCHEMA:
            name = ident(obj.sval)
            reads.append((_SCHEMA, (name,), _schema_sql, f"recreate schema {name} (read when applied)"))
        elif t in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
            name = deparse(obj)
            reads.append((_TYPE, (name,), _type_sql, f"recreate type {name} (definition read when applied)"))
        else:
            raise _Manual(f"no inverse is known for {what!r}")
    return _combined_reads(reads, bool(node.missing_ok), what)


_SCHEMA = f"""
SELECT pg_catalog.quote_ident(n.nspname), pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(n.nspowner)),
  pg_catalog.obj_description(n.oid, 'pg_namespace'), {_acl_json('n.nspacl', "'n'", 'n.nspowner')},
  {_acl_json('', "'n'", 'n.nspowner', default=True)},
  EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl d WHERE d.defaclnamespace = n.oid)
FROM pg_catalog.pg_namespace n WHERE n.oid = pg_catalog.to_regnamespace(%s)"""


def _schema_sql(rows: list[tuple]) -> list[str] | str:
    name, owner, comment, acl, default, has_default_privileges = rows[0]
    if has_default_privileges:
        return f"schema {name} has default privileges, which dropping it loses"
    return [f"CREATE SCHEMA {name} AUTHORIZATION {owner}", *_comment(f"SCHEMA {name}", comment),
            *_acl_restore(f"SCHEMA {name}", acl, default)]


_TYPE = f"""
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname), t.typtype::text,
  (SELECT pg_catalog.json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e
   WHERE e.enumtypid = t.oid),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
     CASE WHEN a.attcollation <> at.typcollation THEN (
       SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
       WHERE co.oid = a.attcollation) END) ORDER BY a.attnum)
   FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
   WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
  pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typdefault, t.typnotnull,
  CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN (
       SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname)
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
       WHERE co.oid = t.typcollation) END,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(c.conname, pg_catalog.pg_get_constraintdef(c.oid),
     pg_catalog.obj_description(c.oid, 'pg_constraint')) ORDER BY c.conname)
   FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n'),
  pg_catalog.obj_description(t.oid, 'pg_type'),
  {_acl_json('t.typacl', "'T'", 't.typowner')}, {_acl_json('', "'T'", 't.typowner', default=True)}
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
WHERE t.oid = pg_catalog.to_regtype(%s)"""


def _type_sql(rows: list[tuple]) -> list[str] | str:
    (qname, typtype, labels, attributes, base, default, notnull, collation, constraints, comment,
     acl, default_acl) = rows[0]
    if typtype == "e":
        out = [f"CREATE TYPE {qname} AS ENUM ({', '.join(literal(label) for label in labels or [])})"]
    elif typtype == "c":
        cols = [f"{ident(a)} {t}{' COLLATE ' + c if c else ''}" for a, t, c in attributes or []]
        out = [f"CREATE TYPE {qname} AS ({', '.join(cols)})"]
    elif typtype == "d":
        sql = f"CREATE DOMAIN {qname} AS {base}"
        sql += f" COLLATE {collation}" if collation else ""
        sql += f" DEFAULT {default}" if default is not None else ""
        sql += " NOT NULL" if notnull else ""
        for name, definition, _ in constraints or []:
            sql += f" CONSTRAINT {ident(name)} {definition}"
        out = [sql]
        for name, _, text in constraints or []:
            out += _comment(f"CONSTRAINT {ident(name)} ON DOMAIN {qname}", text)
    else:
        return f"type {qname} is neither an enum, a composite type nor a domain"
    word = "DOMAIN" if typtype == "d" else "TYPE"
    return out + _comment(f"{word} {qname}", comment) + _acl_restore(f"{word} {qname}", acl, default_acl)


def _combined_reads(reads: list[tuple[str, tuple, Callable[[list[tuple]], list[str] | str], str]],
                    missing_ok: bool, what: str) -> Step:
    """One catalog read for several objects: their rows tagged by position."""
    if len(reads) == 1:
        query, params, build, describe = reads[0]

        def resolve_one(rows: list[tuple]) -> Inverse:
            if not rows:
                return NOTHING if missing_ok else Inverse(manual=f"{what!r}: the object was not found")
            out = build(rows)
            return Inverse(manual=out) if isinstance(out, str) else Inverse(tuple(out))

        return _read(query, params, resolve_one, describe)
    # several objects: one query, each part's rows as a JSON array
    parts, params = [], []
    for i, (query, p, _, _) in enumerate(reads):
        width = len(parse_sql(query.replace("%s", "NULL"))[0].stmt.targetList)
        names = ", ".join(f"c{k}" for k in range(width))
        parts.append(f"SELECT {i}, pg_catalog.json_agg(pg_catalog.to_json(q.*)) FROM ({query}) q({names})")
        params.extend(p)
    union = " UNION ALL ".join(parts)

    def resolve(rows: list[tuple]) -> Inverse:
        found = {i: data for i, data in rows}
        out: list[str] = []
        for i, (_, _, build, _) in enumerate(reads):
            data = found.get(i)
            if not data:
                if missing_ok:
                    continue
                return Inverse(manual=f"{what!r}: an object was not found")
            res = build([tuple(data[0][f"c{k}"] for k in range(len(data[0])))])
            if isinstance(res, str):
                return Inverse(manual=res)
            out.extend(res)
        return Inverse(tuple(out))

    return _read(union, tuple(params), resolve, "; ".join(r[3] for r in reads))


# --- COMMENT ----------------------------------------------------------------------------------


def _comment_lookup(node: ast.CommentStmt) -> tuple[str, tuple] | None:
    """SQL and params giving (catalog, oid, subid) of the commented object, or None if not supported."""
    t, obj = node.objtype, node.object
    rel_kinds = (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_INDEX, OT.OBJECT_SEQUENCE,
                 OT.OBJECT_FOREIGN_TABLE)
    if t in rel_kinds:
        return "'pg_class', pg_catalog.to_regclass(%s), 0", (_names(obj),)
    if t == OT.OBJECT_COLUMN:
        names = _strs(obj)
        return ("'pg_class', pg_catalog.to_regclass(%s), (SELECT a.attnum::int FROM pg_catalog.pg_attribute a "
                "WHERE a.attrelid = pg_catalog.to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped)",
                (".".join(ident(n) for n in names[:-1]),) * 2 + (names[-1],))
    if t in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE, OT.OBJECT_AGGREGATE):
        lookup, params = _owa_oid(obj)
        return f"'pg_proc', {lookup}, 0", params
    if t in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
        return "'pg_type', pg_catalog.to_regtype(%s), 0", (deparse(obj),)
    if t == OT.OBJECT_SCHEMA:
        return "'pg_namespace', pg_catalog.to_regnamespace(%s), 0", (ident(obj.sval),)
    if t == OT.OBJECT_EXTENSION:
        return "'pg_extension', (SELECT oid FROM pg_catalog.pg_extension WHERE extname = %s), 0", (obj.sval,)
    if t in (OT.OBJECT_TABCONSTRAINT, OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE):
        names = _strs(obj)
        table, name = ".".join(ident(n) for n in names[:-1]), names[-1]
        catalog, rel, col = {
            OT.OBJECT_TABCONSTRAINT: ("pg_constraint", "conrelid", "conname"),
            OT.OBJECT_TRIGGER: ("pg_trigger", "tgrelid", "tgname"),
            OT.OBJECT_POLICY: ("pg_policy", "polrelid", "polname"),
            OT.OBJECT_RULE: ("pg_rewrite", "ev_class", "rulename"),
        }[t]
        return (f"'{catalog}', (SELECT oid FROM pg_catalog.{catalog} WHERE {rel} = pg_catalog.to_regclass(%s) "
                f"AND {col} = %s), 0", (table, name))
    if t == OT.OBJECT_DOMCONSTRAINT:
        names = _strs(obj[0].names) if isinstance(obj[0], ast.TypeName) else []
        return ("'pg_constraint', (SELECT oid FROM pg_catalog.pg_constraint WHERE contypid = "
                "pg_catalog.to_regtype(%s) AND conname = %s), 0", (".".join(ident(n) for n in names), obj[1].sval))
    return None


def _comment_on(node: ast.CommentStmt, what: str) -> Step:
    lookup = _comment_lookup(node)
    if lookup is None:
        raise _Manual(f"no inverse is known for {what!r}")
    select, params = lookup
    query = (f"SELECT (SELECT d.description FROM pg_catalog.pg_description d WHERE d.classoid = "
             f"('pg_catalog.' || o.c)::regclass AND d.objoid = o.oid AND d.objsubid = o.sub) "
             f"FROM (SELECT {select}) AS o(c, oid, sub)")

    def resolve(rows: list[tuple]) -> Inverse:
        old = rows[0][0] if rows else None
        if old == node.comment:
            return NOTHING
        inv = copy.deepcopy(node)
        inv.comment = old
        return Inverse((deparse(inv),))

    return _read(query, params, resolve, "restore the previous comment (read when applied)")


# --- GRANT / REVOKE ---------------------------------------------------------------------------

_GRANT_KIND = {
    OT.OBJECT_TABLE: "TABLE", OT.OBJECT_SEQUENCE: "SEQUENCE", OT.OBJECT_FUNCTION: "FUNCTION",
    OT.OBJECT_PROCEDURE: "PROCEDURE", OT.OBJECT_ROUTINE: "ROUTINE", OT.OBJECT_SCHEMA: "SCHEMA",
    OT.OBJECT_TYPE: "TYPE", OT.OBJECT_DOMAIN: "DOMAIN",
}

_REL_ACL = """
SELECT %s::int, CASE WHEN c.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || {qname}, g.name,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.privilege_type, a.is_grantable))
   FROM pg_catalog.aclexplode(coalesce(c.relacl, pg_catalog.acldefault(
     CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a WHERE a.grantee = g.oid),
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(p.privilege_type, p.is_grantable, at.attname))
   FROM pg_catalog.pg_attribute at, pg_catalog.aclexplode(at.attacl) p
   WHERE at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped AND p.grantee = g.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, g
WHERE {where}"""

_OBJ_ACL = """
SELECT %s::int, '{word} ' || {qname}, g.name,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.privilege_type, a.is_grantable))
   FROM pg_catalog.aclexplode(coalesce(o.{acl}, pg_catalog.acldefault('{kind}', o.{owner}))) a WHERE a.grantee = g.oid),
  NULL::json
FROM pg_catalog.{catalog} o JOIN pg_catalog.pg_namespace n ON n.oid = o.{nsp}, g
WHERE {where}"""


def _grant(node: ast.GrantStmt, what: str) -> Step:
    kind = _GRANT_KIND.get(node.objtype)
    if kind is None:
        raise _Manual(f"no inverse is known for {what!r}")
    if not node.is_grant and node.behavior == enums.DropBehavior.DROP_CASCADE:
        raise _Manual(f"{what!r} revokes dependent privileges too (CASCADE)")
    grantees, gparams = _roles_sql(node.grantees)
    parts, params = [], []
    for i, obj in enumerate(node.objects or ()):
        if node.targtype == enums.GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
            schema = obj.sval
            if node.objtype in (OT.OBJECT_TABLE, OT.OBJECT_SEQUENCE):
                kinds = "('S')" if node.objtype == OT.OBJECT_SEQUENCE else "('r', 'p', 'v', 'm', 'f')"
                parts.append(_REL_ACL.format(qname=_QNAME, where=f"n.nspname = %s AND c.relkind IN {kinds}"))
            else:
                prokinds = {"FUNCTION": "('f', 'a', 'w')", "PROCEDURE": "('p')", "ROUTINE": "('f', 'a', 'w', 'p')"}
                if kind not in prokinds:
                    raise _Manual(f"no inverse is known for {what!r}")
                parts.append(_OBJ_ACL.format(
                    word=kind, qname=_FUNC_QNAME, acl="proacl", kind="f", owner="proowner", catalog="pg_proc",
                    nsp="pronamespace",
                    where=f"n.nspname = %s AND o.prokind IN {prokinds[kind]}"))
            params += [i, schema]
        elif kind in ("TABLE", "SEQUENCE"):
            parts.append(_REL_ACL.format(qname=_QNAME, where="c.oid = pg_catalog.to_regclass(%s)"))
            params += [i, _rv(obj)]
        elif kind in ("FUNCTION", "PROCEDURE", "ROUTINE"):
            lookup, lparams = _owa_oid(obj)
            parts.append(_OBJ_ACL.format(word=kind, qname=_FUNC_QNAME, acl="proacl", kind="f", owner="proowner",
                                         catalog="pg_proc", nsp="pronamespace", where=f"o.oid = {lookup}"))
            params += [i, *lparams]
        elif kind == "SCHEMA":
            parts.append(_OBJ_ACL.format(word=kind, qname="pg_catalog.quote_ident(n.nspname)", acl="nspacl", kind="n",
                                         owner="nspowner", catalog="pg_namespace", nsp="oid",
                                         where="o.oid = pg_catalog.to_regnamespace(%s)"))
            params += [i, ident(obj.sval)]
        else:  # TYPE, DOMAIN
            parts.append(_OBJ_ACL.format(
                word=kind, qname="pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.typname)",
                acl="typacl",
                kind="T", owner="typowner", catalog="pg_type", nsp="typnamespace",
                where="o.oid = pg_catalog.to_regtype(%s)"))
            params += [i, deparse(obj)]
    query = f"WITH g(oid, name) AS ({grantees}) " + " UNION ALL ".join(parts)
    privs = [p for p in node.privileges or ()] if node.privileges else None

    def resolve(rows: list[tuple]) -> Inverse:
        out: list[str] = []
        for _, target, grantee, privileges, columns in rows:
            obj = target  # with its kind: TABLE x, SEQUENCE s, FUNCTION f(int)...
            if node.is_grant:
                # take away what the statement gave, then give back what was there before
                if privs is None:
                    out.append(f"REVOKE ALL ON {obj} FROM {grantee}")
                else:
                    for p in privs:
                        cols = f" ({', '.join(ident(c.sval) for c in p.cols)})" if p.cols else ""
                        out.append(f"REVOKE {p.priv_name.upper()}{cols} ON {obj} FROM {grantee}")
            for priv, grantable in privileges or []:
                out.append(f"GRANT {priv} ON {obj} TO {grantee}{' WITH GRANT OPTION' if grantable else ''}")
            for priv, grantable, col in columns or []:
                out.append(f"GRANT {priv} ({ident(col)}) ON {obj} TO {grantee}"
                           f"{' WITH GRANT OPTION' if grantable else ''}")
        return Inverse(tuple(out))

    return _read(query, tuple(gparams + params), resolve, "restore the previous privileges (read when applied)")


def _roles_sql(roles: Sequence[ast.RoleSpec] | None) -> tuple[str, list]:
    """SQL giving (oid, quoted name) of each role named in a statement (PUBLIC is oid 0), and its params."""
    parts, params = [], []
    for g in roles or ():
        if g.roletype == RS.ROLESPEC_PUBLIC:
            parts.append("SELECT 0::oid, 'PUBLIC'")
        elif g.roletype == RS.ROLESPEC_CSTRING:
            parts.append("SELECT oid, pg_catalog.quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname = %s")
            params.append(g.rolename)
        else:
            fn = "session_user" if g.roletype == RS.ROLESPEC_SESSION_USER else "current_user"
            parts.append(f"SELECT oid, pg_catalog.quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname = {fn}")
    return " UNION ALL ".join(parts), params


_DEFAULT_KINDS = {  # object type: (pg_default_acl.defaclobjtype, acldefault kind, keyword)
    OT.OBJECT_TABLE: ("r", "r", "TABLES"), OT.OBJECT_SEQUENCE: ("S", "s", "SEQUENCES"),
    OT.OBJECT_FUNCTION: ("f", "f", "FUNCTIONS"), OT.OBJECT_ROUTINE: ("f", "f", "ROUTINES"),
    OT.OBJECT_TYPE: ("T", "T", "TYPES"), OT.OBJECT_SCHEMA: ("n", "n", "SCHEMAS"),
}

_DEFAULT_ACL = """
WITH g(oid, name) AS ({grantees}), r(oid, name) AS ({roles}),
  s(nsp) AS (SELECT pg_catalog.unnest(%s::text[]))
SELECT r.name, s.nsp, g.name,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.privilege_type, a.is_grantable))
   FROM pg_catalog.aclexplode(coalesce(
     (SELECT d.defaclacl FROM pg_catalog.pg_default_acl d WHERE d.defaclrole = r.oid AND d.defaclobjtype = %s
        AND d.defaclnamespace = coalesce((SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = s.nsp), 0)),
     CASE WHEN s.nsp IS NULL THEN pg_catalog.acldefault(%s, r.oid) END)) a WHERE a.grantee = g.oid)
FROM r, s, g"""


def _default_privileges(node: ast.AlterDefaultPrivilegesStmt, what: str) -> Step:
    action = node.action
    kinds = _DEFAULT_KINDS.get(action.objtype)
    if kinds is None:
        raise _Manual(f"no inverse is known for {what!r}")
    if not action.is_grant and action.behavior == enums.DropBehavior.DROP_CASCADE:
        raise _Manual(f"{what!r} revokes dependent privileges too (CASCADE)")
    objtype, aclkind, word = kinds
    options = {o.defname: o.arg for o in node.options or () if isinstance(o, ast.DefElem)}
    roles = list(options.get("roles") or ())
    schemas = [n.sval for n in options.get("schemas") or ()] or [None]
    grantees, gparams = _roles_sql(action.grantees)
    rsql, rparams = _roles_sql(roles or [ast.RoleSpec(roletype=RS.ROLESPEC_CURRENT_USER)])
    query = _DEFAULT_ACL.format(grantees=grantees, roles=rsql)
    privs = list(action.privileges or ()) or None

    def resolve(rows: list[tuple]) -> Inverse:
        out: list[str] = []
        for role, schema, grantee, privileges in rows:
            head = f"ALTER DEFAULT PRIVILEGES FOR ROLE {role}{' IN SCHEMA ' + ident(schema) if schema else ''}"
            if action.is_grant:
                what_ = "ALL" if privs is None else ", ".join(p.priv_name.upper() for p in privs)
                out.append(f"{head} REVOKE {what_} ON {word} FROM {grantee}")
            for priv, grantable in privileges or []:
                out.append(f"{head} GRANT {priv} ON {word} TO {grantee}{' WITH GRANT OPTION' if grantable else ''}")
        return Inverse(tuple(out))

    return _read(query, (*gparams, *rparams, schemas, objtype, aclkind), resolve,
                 "restore the previous default privileges (read when applied)")


_FUNC_QNAME = ("pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(o.proname) || '(' "
               "|| pg_catalog.oidvectortypes(o.proargtypes) || ')'")


def _grant_role(node: ast.GrantRoleStmt, what: str) -> Step:
    if not node.is_grant or node.opt:
        raise _Manual(f"no inverse is known for {what!r}")
    roles = [r.priv_name for r in node.granted_roles or ()]
    members = [m for m in node.grantee_roles or () if m.roletype == RS.ROLESPEC_CSTRING]
    if len(members) != len(node.grantee_roles or ()):
        raise _Manual(f"no inverse is known for {what!r}")
    query = ("SELECT r.rolname, m.rolname FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles r "
             "ON r.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member "
             "WHERE r.rolname = ANY(%s) AND m.rolname = ANY(%s)")

    def resolve(rows: list[tuple]) -> Inverse:
        had = set(rows)
        return Inverse(tuple(f"REVOKE {ident(r)} FROM {ident(m.rolename)}" for r in roles for m in members
                             if (r, m.rolename) not in had))

    return _read(query, (roles, [m.rolename for m in members]), resolve,
        "revoke the new role memberships (read when applied)")


# --- ALTER for other objects ------------------------------------------------------------------


def _alter_publication(node: ast.AlterPublicationStmt, what: str) -> Step:
    tables = [o.pubtable.relation for o in node.pubobjects or ()
              if isinstance(o, ast.PublicationObjSpec) and o.pubtable is not None]
    if node.action != enums.AlterPublicationAction.AP_AddObjects or not tables or node.options \
            or len(tables) != len(node.pubobjects):
        raise _Manual(f"no inverse is known for {what!r}")
    # adding a table already published fails, so each one was not there before
    return _fixed(f"ALTER PUBLICATION {ident(node.pubname)} DROP TABLE {', '.join(_rv(t) for t in tables)}")


def _alter_function(node: ast.AlterFunctionStmt, what: str) -> Step:
    sig = _signature(node.func) or _names(node.func.objname)
    lookup, params = _owa_oid(node.func)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse(manual=f"{what!r}: the function was not found")
        return Inverse((rows[0][0],))

    return _read(f"SELECT pg_catalog.pg_get_functiondef(p.oid) FROM pg_catalog.pg_proc p WHERE p.oid = {lookup}",
                 params, resolve, f"restore the previous definition of {sig} (read when applied)")


def _alter_policy(node: ast.AlterPolicyStmt, what: str) -> Step:
    table, name = _rv(node.table), node.policy_name

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse(manual=f"{what!r}: policy {name} was not found")
        # ALTER POLICY cannot remove a USING or WITH CHECK clause: recreate the policy instead
        return Inverse((f"DROP POLICY {ident(name)} ON {rows[0][0]}", *_policy_sql(rows[0], name)))

    return _read(_POLICY, (table, name), resolve, f"restore policy {name} on {table} (read when applied)")


_SEQUENCE = """
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
  pg_catalog.format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, s.seqcycle,
  (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname) || '.'
          || pg_catalog.quote_ident(a.attname)
   FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
   JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
   JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
   WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'a' LIMIT 1)
FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE s.seqrelid = pg_catalog.to_regclass(%s)"""


def _alter_seq(node: ast.AlterSeqStmt, what: str) -> Step:
    if any(isinstance(o, ast.DefElem) and o.defname == "restart" for o in node.options or ()):
        raise _Manual(f"{what!r} restarts the sequence, whose current value cannot be read back exactly")
    name = _rv(node.sequence)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return NOTHING if node.missing_ok else Inverse(manual=f"{what!r}: {name} was not found")
        qname, typ, inc, lo, hi, start, cache, cycle, owned = rows[0]
        return Inverse((f"ALTER SEQUENCE {qname} AS {typ} INCREMENT {inc} MINVALUE {lo} MAXVALUE {hi} START {start} "
                        f"CACHE {cache} {'CYCLE' if cycle else 'NO CYCLE'} OWNED BY {owned or 'NONE'}",))

    return _read(_SEQUENCE, (name,), resolve, f"restore the parameters of sequence {name} (read when applied)")


def _alter_domain(node: ast.AlterDomainStmt, what: str) -> Step:
    name = _names(node.typeName)
    query = """SELECT pg_catalog.format_type(t.oid, NULL), t.typdefault, t.typnotnull,
      (SELECT pg_catalog.json_object_agg(c.conname, pg_catalog.json_build_array(pg_catalog.pg_get_constraintdef(c.oid),
          pg_catalog.obj_description(c.oid, 'pg_constraint'), c.convalidated))
       FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n')
    FROM pg_catalog.pg_type t WHERE t.oid = pg_catalog.to_regtype(%s) AND t.typtype = 'd'"""

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows:
            return Inverse(manual=f"{what!r}: domain {name} was not found")
        qname, default, notnull, cons = rows[0]
        cons = cons or {}
        sub = node.subtype
        if sub == "T":
            return Inverse((f"ALTER DOMAIN {qname} {'DROP DEFAULT' if default is None else 'SET DEFAULT ' + default}",))
        if sub in ("N", "O"):
            if notnull == (sub == "O"):
                return NOTHING
            return Inverse((f"ALTER DOMAIN {qname} {'SET' if notnull else 'DROP'} NOT NULL",))
        if sub == "C" and isinstance(node.def_, ast.Constraint):
            new = node.def_.conname
            if not new:
                return Inverse(manual=f"{what!r}: give the constraint a name to make it reversible")
            return Inverse((f"ALTER DOMAIN {qname} DROP CONSTRAINT {ident(new)}",))
        if sub == "X" and node.behavior != enums.DropBehavior.DROP_CASCADE:
            con = cons.get(node.name)
            if con is None:
                return NOTHING if node.missing_ok else Inverse(manual=f"{what!r}: constraint not found")
            return Inverse((f"ALTER DOMAIN {qname} ADD CONSTRAINT {ident(node.name)} {con[0]}",
                            *_comment(f"CONSTRAINT {ident(node.name)} ON DOMAIN {qname}", con[1])))
        if sub == "V":
            con = cons.get(node.name)
            return NOTHING if con and con[2] else Inverse(manual=f"{what!r} cannot be made NOT VALID again")
        return Inverse(manual=f"no inverse is known for {what!r}")

    return _read(query, (name,), resolve, f"undo the change to domain {name} (read when applied)")


_OWNER_LOOKUP = {
    OT.OBJECT_FUNCTION: ("pg_proc", "proowner", ""),
    OT.OBJECT_PROCEDURE: ("pg_proc", "proowner", ""),
    OT.OBJECT_ROUTINE: ("pg_proc", "proowner", ""),
    OT.OBJECT_TYPE: ("pg_type", "typowner", "to_regtype"),
    OT.OBJECT_DOMAIN: ("pg_type", "typowner", "to_regtype"),
    OT.OBJECT_SCHEMA: ("pg_namespace", "nspowner", "to_regnamespace"),
}


def _alter_owner(node: ast.AlterOwnerStmt, what: str) -> Step:
    look = _OWNER_LOOKUP.get(node.objectType)
    if look is None:
        raise _Manual(f"no inverse is known for {what!r}")
    catalog, column, fn = look
    obj = node.object
    if isinstance(obj, ast.ObjectWithArgs):
        lookup, params = _owa_oid(obj)
    else:
        lookup, params = f"pg_catalog.{fn}(%s)", (ident(obj.sval) if isinstance(obj, ast.String) else _names(obj),)

    def resolve(rows: list[tuple]) -> Inverse:
        if not rows or rows[0][0] is None:
            return Inverse(manual=f"{what!r}: the object was not found")
        inv = copy.deepcopy(node)
        inv.newowner = ast.RoleSpec(roletype=RS.ROLESPEC_CSTRING, rolename=rows[0][0])
        return Inverse((deparse(inv),))

    return _read(f"SELECT pg_catalog.pg_get_userbyid({column}) FROM pg_catalog.{catalog} "
                 f"WHERE oid = {lookup}", params, resolve, "restore the previous owner (read when applied)")


# --- dispatch ---------------------------------------------------------------------------------

_HANDLERS: dict[type, Callable[[ast.Node, str], Step]] = {
    ast.SelectStmt: _select,
    ast.ExplainStmt: _explain,
    ast.CopyStmt: _copy,
    ast.ClusterStmt: _cluster,
    ast.CreateStmt: _create_table,
    ast.CreateForeignTableStmt: _create_table,
    ast.CreateTableAsStmt: _create_table_as,
    ast.IndexStmt: _create_index,
    ast.CreateFunctionStmt: _create_function,
    ast.ViewStmt: _create_view,
    ast.CreateSeqStmt: _create_seq,
    ast.CompositeTypeStmt: _create_type,
    ast.CreateEnumStmt: _create_type,
    ast.CreateRangeStmt: _create_type,
    ast.DefineStmt: _define,
    ast.CreateDomainStmt: _create_domain,
    ast.CreateTrigStmt: _create_trigger,
    ast.CreatePolicyStmt: _create_policy,
    ast.CreateSchemaStmt: _create_schema,
    ast.CreateExtensionStmt: _create_extension,
    ast.CreateStatsStmt: _create_stats,
    ast.RuleStmt: _create_rule,
    ast.CreateEventTrigStmt: _simple_drop("EVENT TRIGGER", "trigname"),
    ast.CreatePublicationStmt: _simple_drop("PUBLICATION", "pubname"),
    ast.AlterTableStmt: _alter_table,
    ast.RenameStmt: _rename,
    ast.AlterEnumStmt: _alter_enum,
    ast.AlterObjectSchemaStmt: _set_schema,
    ast.DropStmt: _drop,
    ast.CommentStmt: _comment_on,
    ast.GrantStmt: _grant,
    ast.GrantRoleStmt: _grant_role,
    ast.AlterDefaultPrivilegesStmt: _default_privileges,
    ast.AlterFunctionStmt: _alter_function,
    ast.AlterPublicationStmt: _alter_publication,
    ast.AlterPolicyStmt: _alter_policy,
    ast.AlterSeqStmt: _alter_seq,
    ast.AlterDomainStmt: _alter_domain,
    ast.AlterOwnerStmt: _alter_owner,
}


# --- search_path ------------------------------------------------------------------------------


def _path_change(node: ast.Node) -> str | None:
    """The statement that re-establishes the search_path this statement sets, DEFAULT_PATH, or None."""
    if isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() == "search_path":
        if node.kind == VK.VAR_SET_VALUE:
            return deparse(replace_node(node, is_local=False))
        return DEFAULT_PATH
    if isinstance(node, ast.VariableSetStmt) and node.kind == VK.VAR_RESET_ALL:
        return DEFAULT_PATH
    if isinstance(node, ast.SelectStmt):
        for target in node.targetList or ():
            call = getattr(target, "val", None)
            if (isinstance(call, ast.FuncCall) and _strs(call.funcname)[-1:] == ["set_config"] and call.args
                    and isinstance(call.args[0], ast.A_Const) and getattr(call.args[0].val, "sval", None)
                    == "search_path"):
                value = call.args[1]
                if isinstance(value, ast.A_Const) and isinstance(value.val, ast.String):
                    return f"SELECT pg_catalog.set_config('search_path', {literal(value.val.sval)}, false)"
                return "unknown"
    return None


def replace_node(node: ast.Node, **changes: object) -> ast.Node:
    """A copy of a parse node with some attributes changed."""
    out = copy.deepcopy(node)
    for k, v in changes.items():
        setattr(out, k, v)
    return out


def _under_path(step: Step, path: str) -> Step:
    """The step with its inverse marked to run under `path`."""
    def mark(inv: Inverse) -> Inverse:
        return replace(inv, search_path=path) if inv.sql and not inv.manual else inv

    def wrap(read: CatalogRead) -> CatalogRead:
        return replace(read, resolve=lambda rows: mark(read.resolve(rows)))

    return Step(
        mark(step.inverse) if step.inverse is not None else None,
        wrap(step.read) if step.read is not None else None,
        (lambda rows: wrap(step.after(rows))) if step.after is not None else None,
    )


def _validates_own_constraint(node: ast.Node, added: set[tuple[str, str]]) -> bool:
    """ALTER TABLE ... VALIDATE CONSTRAINT of constraints added earlier in the same file.

    The NOT VALID then VALIDATE pattern: dropping the constraint undoes both.
    """
    if not isinstance(node, ast.AlterTableStmt) or not node.cmds:
        return False
    return all(isinstance(c, ast.AlterTableCmd) and c.subtype == AT.AT_ValidateConstraint
               and (_rv(node.relation), c.name) in added for c in node.cmds)


def _added_constraints(node: ast.Node) -> list[tuple[str, str]]:
    if not isinstance(node, ast.AlterTableStmt):
        return []
    return [(_rv(node.relation), c.def_.conname) for c in node.cmds or ()
            if isinstance(c, ast.AlterTableCmd) and c.subtype == AT.AT_AddConstraint
            and isinstance(c.def_, ast.Constraint) and c.def_.conname]


def plan_steps(statements: Sequence[Statement]) -> list[Step]:
    """One Step per statement, in file order."""
    changes = {i: _path_change(st.node) for i, st in enumerate(statements)}
    steps: list[Step] = []
    path = DEFAULT_PATH
    added: set[tuple[str, str]] = set()
    for i, st in enumerate(statements):
        if path == "unknown":
            step = _manual(f"{st.first_line!r} runs after search_path was set to a value read at run time")
        elif _validates_own_constraint(st.node, added):
            step = Step(NOTHING)
        else:
            step = step_for(st)
            if any(changes.values()):
                step = _under_path(step, path)
        added.update(_added_constraints(st.node))
        steps.append(step)
        path = changes[i] or path
    return steps


def assemble(statements: Sequence[Statement], inverses: Sequence[Inverse], custom: str | None) -> RollbackPlan:
    """The migration's rollback: custom SQL if given, else the inverses in reverse order."""
    if custom:
        return RollbackPlan(RollbackKind.CUSTOM, custom)
    for st, inv in zip(statements, inverses, strict=True):
        if inv.manual:
            return RollbackPlan(RollbackKind.MANUAL, None, f"line {st.line}: {inv.manual}")
    parts: list[str] = []
    path: str | None = None
    for inv in reversed(inverses):
        if inv.sql and inv.search_path is not None and inv.search_path != path:
            if not (path is None and inv.search_path == DEFAULT_PATH):
                parts.append(inv.search_path)
            path = inv.search_path
        parts.extend(inv.sql)
    if path not in (None, DEFAULT_PATH):
        parts.append(DEFAULT_PATH)
    return RollbackPlan(RollbackKind.GENERATED, _join(parts))


def _join(parts: list[str]) -> str:
    """Statements joined for storage; comment lines (dry runs) get no semicolon."""
    out = []
    for p in parts:
        out.append(p if p.lstrip().startswith("--") else p.rstrip().rstrip(";") + ";")
    return "\n".join(out)
