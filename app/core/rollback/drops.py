"""DROP: the dropped objects recreated from definitions read just before."""

from __future__ import annotations

from collections.abc import Callable

from pglast import ast, enums, parse_sql

from app.core.rollback import index_extras
from app.core.rollback.cascade import cascade_step, view_drop_step
from app.core.rollback.model import NOTHING, Inverse, Step
from app.core.rollback.names import _names, _owa_oid, _signature, _strs, deparse, ident
from app.core.rollback.policies import _POLICY, _policy_sql
from app.core.rollback.routines import _DROP_FUNCTION
from app.core.rollback.schemas import _SCHEMA, _schema_sql
from app.core.rollback.steps import _acl_json, _acl_restore, _comment, _Manual, _owner, _owner_unless_me, _read
from app.core.rollback.tables import _DROP_INDEX
from app.core.rollback.triggers import _RULE, _TRIGGER, _trigger_sql
from app.core.rollback.types import _TYPE, _type_sql

OT = enums.ObjectType


def _drop(node: ast.DropStmt, what: str) -> Step:
    views = node.removeType in (OT.OBJECT_VIEW, OT.OBJECT_MATVIEW)
    restrict = view_drop_step(node, what) if views else _drop_restrict(node, what)
    if node.behavior == enums.DropBehavior.DROP_CASCADE:
        return cascade_step(node, what, restrict, views)
    return restrict


def _drop_restrict(node: ast.DropStmt, what: str) -> Step:
    """The drop as if without CASCADE (views go to app.core.rollback.cascade)."""
    t = node.removeType
    reads: list[tuple[str, tuple, Callable[[list[tuple]], list[str] | str], str]] = []
    for obj in node.objects or ():
        if t == OT.OBJECT_INDEX:
            name = _names(obj)

            def index(rows: list[tuple], concurrent: bool = bool(node.concurrent)) -> list[str] | str:
                definition, extras = rows[0]
                if concurrent:
                    definition = definition.replace(" INDEX ", " INDEX CONCURRENTLY ", 1)
                return [definition, *index_extras.restore(extras, options=False)]

            reads.append((_DROP_INDEX, (name,), index, f"recreate index {name} (definition read when applied)"))
        elif t in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE):
            sig = _signature(obj)
            lookup, lparams = _owa_oid(obj)
            query = _DROP_FUNCTION.format(acl=_acl_json("p.proacl", "'f'", "p.proowner"),
                                          default=_acl_json("", "'f'", "p.proowner", default=True), lookup=lookup,
                                          owner=_owner_unless_me("p.proowner"))

            def function(rows: list[tuple]) -> list[str] | str:
                definition, prokind, qsig, comment, acl, default, owner = rows[0]
                if prokind not in ("f", "p"):
                    return f"{what!r} drops an aggregate or window function"
                word = "PROCEDURE" if prokind == "p" else "FUNCTION"
                return [definition, *_comment(f"{word} {qsig}", comment), *_owner(f"{word} {qsig}", owner),
                        *_acl_restore(f"{word} {qsig}", acl, default)]

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
        elif t in (OT.OBJECT_TABLE, OT.OBJECT_FOREIGN_TABLE, OT.OBJECT_SEQUENCE):
            if not node.missing_ok:
                raise _Manual(f"{what!r} destroys data")
            # IF EXISTS of something absent does nothing; of something there, it destroys data
            name = _names(obj)
            reads.append(("SELECT 1 FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass(%s)", (name,),
                          lambda rows: f"{what!r} destroys data", f"nothing to undo if {name} is absent (read when "
                          "applied)"))
        elif t == OT.OBJECT_EXTENSION and node.missing_ok:
            name = obj.sval
            reads.append(("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = %s", (name,),
                          lambda rows: f"no inverse is known for {what!r}",
                          f"nothing to undo if extension {name} is absent (read when applied)"))
        elif t == OT.OBJECT_SCHEMA:
            name = ident(obj.sval)
            reads.append((_SCHEMA, (name,), _schema_sql, f"recreate schema {name} (read when applied)"))
        elif t in (OT.OBJECT_TYPE, OT.OBJECT_DOMAIN):
            name = deparse(obj)
            reads.append((_TYPE, (name,), _type_sql, f"recreate type {name} (definition read when applied)"))
        else:
            raise _Manual(f"no inverse is known for {what!r}")
    return _combined_reads(reads, bool(node.missing_ok), what)


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
