"""ALTER TABLE: columns, constraints, row security, options, owner and triggers, undone from the catalog."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from pglast import ast, enums

from app.core.rollback import index_extras
from app.core.rollback.column_types import invert_type, narrowed, short_values
from app.core.rollback.index_extras import extras_sql
from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, ident, literal
from app.core.rollback.steps import _QNAME, _comment, _fixed, _Manual, _read
from app.core.rollback.triggers import _ENABLE

OT = enums.ObjectType
AT = enums.AlterTableType
CT = enums.ConstrType


_RELATION = f"""
SELECT {_QNAME}, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity, c.reloptions,
  (SELECT pg_catalog.json_object_agg(a.attname, pg_catalog.json_build_object(
      'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'typname', t.typname, 'typmod', a.atttypmod,
      'notnull', a.attnotnull, 'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid), 'options', a.attoptions,
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
      'comment', pg_catalog.obj_description(co.oid, 'pg_constraint'),
      'extras', CASE WHEN co.contype IN ('p', 'u', 'x') THEN {extras_sql('co.conindid')} END))
   FROM pg_catalog.pg_constraint co WHERE co.conrelid = c.oid),
  (SELECT pg_catalog.json_object_agg(t.tgname, t.tgenabled::text)
   FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
  pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(c.relowner)), c.relhassubclass, c.relpersistence::text,
  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend dp JOIN pg_catalog.pg_class s ON s.oid = dp.objid
    WHERE dp.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dp.refobjid = c.oid AND s.relkind = 'S'
      AND dp.deptype IN ('a', 'i') AND s.relpersistence <> c.relpersistence),
  c.relreplident::text,
  (SELECT pg_catalog.quote_ident(i.relname)
   FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
   WHERE x.indrelid = c.oid AND x.indisreplident),
  (SELECT pg_catalog.quote_ident(i.relname)
   FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
   WHERE x.indrelid = c.oid AND x.indisclustered)
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
    has_children: bool
    persistence: str  # relpersistence: p(ermanent), u(nlogged)
    sequences_alike: bool  # its identity/serial sequences have its persistence (SET LOGGED changes them too)
    replident: str  # relreplident: d(efault), n(othing), f(ull), i(ndex)
    identity_index: str | None  # the replica identity index's name, quoted
    clustered_index: str | None
    short: dict[str, bool]  # column: no value longer than the varchar(n) it is narrowed to (read before)


_KIND_WORD = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW",
              "i": "INDEX", "I": "INDEX", "S": "SEQUENCE", "c": "TYPE"}


def _alter_table(node: ast.AlterTableStmt, what: str) -> Step:
    rel = _rv(node.relation)
    cmds = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    if node.objtype == OT.OBJECT_TYPE:
        return _alter_composite(node, cmds, what)
    if any(c.subtype == AT.AT_DropConstraint and c.behavior == enums.DropBehavior.DROP_CASCADE for c in cmds):
        from app.core.rollback.cascade import alter_cascade_step

        return alter_cascade_step(node, what, lambda restrict: _alter_table(restrict, what))
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
        elif (cmd.subtype in _NEEDS_READ or cmd.subtype in (AT.AT_AddColumn, AT.AT_AddConstraint)
              or (cmd.subtype == AT.AT_DropColumn and cmd.missing_ok)):
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
        short = rows[0][15] if len(rows[0]) > 15 else {}
        r = _Rel(*rows[0][:5], rows[0][5] or {}, rows[0][6] or {}, rows[0][7] or {}, *rows[0][8:15], short)
        per_cmd: list[list[str]] = []
        for cmd in cmds:
            inv = _invert_cmd(cmd, r, what, after_rows)
            if isinstance(inv, str):
                return Inverse(manual=inv)
            per_cmd.append(inv)
        return Inverse(tuple(sql for inv in reversed(per_cmd) for sql in inv))

    narrow = narrowed(cmds)

    def run(conn: psycopg.Connection) -> list[tuple]:
        rows = conn.execute(_RELATION, (rel,)).fetchall()
        return [(*rows[0], short_values(conn, rows[0][0], narrow))] if rows and narrow else rows

    describe = f"undo the changes to {rel} from its columns and constraints (read when applied)"
    if not adds_unnamed:
        return _read(_RELATION, (rel,), lambda rows: plan(rows, None), describe, run=run)

    def after(rows: list[tuple]) -> CatalogRead:
        return CatalogRead(_RELATION, (rel,), lambda now: plan(rows, now), f"the new constraints of {rel}")

    return _read(_RELATION, (rel,), lambda rows: NOTHING, describe, after, run=run)


_NEEDS_READ = {
    AT.AT_ColumnDefault, AT.AT_SetNotNull, AT.AT_DropNotNull, AT.AT_AlterColumnType, AT.AT_DropConstraint,
    AT.AT_EnableRowSecurity, AT.AT_DisableRowSecurity, AT.AT_ForceRowSecurity, AT.AT_NoForceRowSecurity,
    AT.AT_SetRelOptions, AT.AT_ResetRelOptions, AT.AT_ChangeOwner, AT.AT_EnableTrig, AT.AT_DisableTrig,
    AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig, AT.AT_ValidateConstraint,
    AT.AT_SetOptions, AT.AT_ResetOptions, AT.AT_SetLogged, AT.AT_SetUnLogged, AT.AT_ReplicaIdentity,
    AT.AT_ClusterOn, AT.AT_DropCluster,
}

_IDENTITY = {"d": "DEFAULT", "n": "NOTHING", "f": "FULL"}


def _not_null_constraint(r: _Rel, column: str) -> tuple[str, str] | None:
    """(name, definition) of the column's catalogued NOT NULL constraint (PostgreSQL 18), if any."""
    want = f"NOT NULL {ident(column)}"
    for name, con in r.constraints.items():
        if con["type"] == "n" and (con["def"] == want or con["def"].startswith(want + " ")):
            return name, con["def"]
    return None


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
    if sub == AT.AT_DropColumn:  # IF EXISTS: nothing to undo when the column was not there
        return [] if col is None else f"{what!r} drops a column and its data"
    if sub == AT.AT_ColumnDefault:
        if col["default"] is None:
            return [f"{at} ALTER COLUMN {ident(cmd.name)} DROP DEFAULT"]
        return [f"{at} ALTER COLUMN {ident(cmd.name)} SET DEFAULT {col['default']}"]
    if sub in (AT.AT_SetNotNull, AT.AT_DropNotNull):
        if col["notnull"] == (sub == AT.AT_SetNotNull):
            return []
        if sub == AT.AT_DropNotNull:
            named = _not_null_constraint(r, cmd.name)
            if named is not None:  # PostgreSQL 18: the constraint comes back under its own name
                name, definition = named
                return [f"{at} ADD CONSTRAINT {ident(name)} {definition}",
                        *_comment(f"CONSTRAINT {ident(name)} ON {r.qname}", r.constraints[name]["comment"])]
        return [f"{at} ALTER COLUMN {ident(cmd.name)} {'DROP' if col['notnull'] is False else 'SET'} NOT NULL"]
    if sub == AT.AT_AlterColumnType:
        return invert_type(cmd, col, at, what, r)
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
                *_comment(f"CONSTRAINT {ident(cmd.name)} ON {r.qname}", con["comment"]),
                *index_extras.restore(con.get("extras"), options=True)]
    if sub == AT.AT_ReplicaIdentity:
        if r.replident == "i":
            return [f"{at} REPLICA IDENTITY USING INDEX {r.identity_index}"] if r.identity_index else (
                f"{what!r}: the replica identity index of {r.qname} was not found")
        return [f"{at} REPLICA IDENTITY {_IDENTITY[r.replident]}"]
    if sub in (AT.AT_ClusterOn, AT.AT_DropCluster):
        return [f"{at} CLUSTER ON {r.clustered_index}" if r.clustered_index else f"{at} SET WITHOUT CLUSTER"]
    if sub == AT.AT_ValidateConstraint:
        con = r.constraints.get(cmd.name)
        if con is not None and con["validated"]:
            return []
        if con is None or con["type"] not in ("c", "f") or r.has_children:
            return f"{what!r} validates a constraint, which cannot be made NOT VALID again"
        # no statement makes a constraint NOT VALID again: drop it and add it back unvalidated
        # (its definition, read before, ends in NOT VALID; nothing can depend on a check or foreign key)
        return [f"{at} DROP CONSTRAINT {ident(cmd.name)}", f"{at} ADD CONSTRAINT {ident(cmd.name)} {con['def']}",
                *_comment(f"CONSTRAINT {ident(cmd.name)} ON {r.qname}", con["comment"])]
    if sub in (AT.AT_EnableRowSecurity, AT.AT_DisableRowSecurity):
        was = r.rls
        return [] if was == (sub == AT.AT_EnableRowSecurity) else [
            f"{at} {'ENABLE' if was else 'DISABLE'} ROW LEVEL SECURITY"]
    if sub in (AT.AT_ForceRowSecurity, AT.AT_NoForceRowSecurity):
        was = r.force_rls
        return [] if was == (sub == AT.AT_ForceRowSecurity) else [
            f"{at} {'FORCE' if was else 'NO FORCE'} ROW LEVEL SECURITY"]
    if sub in (AT.AT_SetRelOptions, AT.AT_ResetRelOptions):
        return _options_back(at, r.options, cmd.def_)
    if sub in (AT.AT_SetOptions, AT.AT_ResetOptions):  # a column's (n_distinct...)
        if col is None:
            return f"{what!r}: column {cmd.name} of {r.qname} was not found"
        return _options_back(f"{at} ALTER COLUMN {ident(cmd.name)}", col["options"], cmd.def_)
    if sub in (AT.AT_SetLogged, AT.AT_SetUnLogged):
        if r.persistence not in ("p", "u") or not r.sequences_alike:
            return f"{what!r}: {r.qname} or one of its sequences has a persistence SET LOGGED cannot give back"
        if r.persistence == ("u" if sub == AT.AT_SetUnLogged else "p"):
            return []
        return [f"{at} SET {'LOGGED' if r.persistence == 'p' else 'UNLOGGED'}"]
    if sub == AT.AT_ChangeOwner:
        return [f"{at} OWNER TO {r.owner}"]
    if sub in (AT.AT_EnableTrig, AT.AT_DisableTrig, AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig):
        state = r.triggers.get(cmd.name)
        if state is None:
            return f"{what!r}: trigger {cmd.name} was not found"
        word = _ENABLE.get(state, "ENABLE TRIGGER")
        return [f"ALTER TABLE {r.qname} {word} {ident(cmd.name)}"]
    return f"no inverse is known for {what!r}"


def _options_back(at: str, options: list[str] | None, defs: list[ast.DefElem] | None) -> list[str]:
    """SET / RESET giving storage options (a relation's or a column's) the values read before."""
    old = dict(o.split("=", 1) for o in options or [])
    keys = [f"{d.defnamespace + '.' if d.defnamespace else ''}{d.defname}" for d in defs or ()]
    reset = [k for k in keys if k not in old]
    back = [f"{k}={literal(old[k])}" for k in keys if k in old]
    return ([f"{at} RESET ({', '.join(reset)})"] if reset else []) + (
        [f"{at} SET ({', '.join(back)})"] if back else [])


def _invert_add_constraint(con: ast.Constraint, r: _Rel, at: str, what: str,
                           after_rows: list[tuple] | None) -> list[str] | str:
    if con.indexname:
        return f"{what!r} turns an existing index into a constraint"
    name = con.conname
    if not name:
        now = (after_rows or [[None] * 10])[0][6] or {}
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
