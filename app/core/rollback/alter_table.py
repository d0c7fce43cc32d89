"""ALTER TABLE: columns, constraints, row security, options, owner and triggers, undone from the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast, enums

from app.core.rollback import index_extras
from app.core.rollback.index_extras import extras_sql
from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, _strs, ident, literal
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
        r = _Rel(*rows[0][:5], rows[0][5] or {}, rows[0][6] or {}, rows[0][7] or {}, *rows[0][8:15])
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
    out = [_fits_check(r.qname, cmd.name, col),
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
