"""Views: CREATE [OR REPLACE] VIEW undone, and a view's definition read back."""

from __future__ import annotations

from pglast import ast

from app.core.rollback import index_extras
from app.core.rollback.index_extras import extras_sql
from app.core.rollback.model import NOTHING, CatalogRead, Inverse, Step
from app.core.rollback.names import _rv, ident
from app.core.rollback.steps import _QNAME, _acl_json, _acl_restore, _comment, _fixed, _owner, _owner_unless_me, _read

_VIEW = f"""
SELECT {_QNAME}, pg_catalog.pg_get_viewdef(c.oid), c.reloptions, c.relnatts,
  pg_catalog.obj_description(c.oid, 'pg_class'),
  {_acl_json('c.relacl', "'r'", 'c.relowner')}, {_acl_json('', "'r'", 'c.relowner', default=True)},
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, d.description)) FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = c.oid
      AND d.objsubid = a.attnum WHERE a.attrelid = c.oid AND a.attnum > 0),
  {_owner_unless_me('c.relowner')}
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind = 'v'"""


_MATVIEW = f"""
SELECT {_QNAME}, pg_catalog.pg_get_viewdef(c.oid), c.reloptions, c.relispopulated,
  pg_catalog.obj_description(c.oid, 'pg_class'),
  {_acl_json('c.relacl', "'r'", 'c.relowner')}, {_acl_json('', "'r'", 'c.relowner', default=True)},
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, d.description)) FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_description d ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = c.oid
      AND d.objsubid = a.attnum WHERE a.attrelid = c.oid AND a.attnum > 0),
  {_owner_unless_me('c.relowner')},
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(pg_catalog.pg_get_indexdef(x.indexrelid),
      {extras_sql('x.indexrelid')}) ORDER BY x.indexrelid)
   FROM pg_catalog.pg_index x WHERE x.indrelid = c.oid),
  EXISTS (SELECT 1 FROM pg_catalog.pg_statistic_ext s WHERE s.stxrelid = c.oid)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass(%s) AND c.relkind = 'm'"""


def _matview_sql(rows: list[tuple]) -> list[str] | str:
    """A dropped materialized view made again: definition, data (if it had been filled), indexes, comments,
    owner and privileges. Its rows are computed again from the tables, as REFRESH would."""
    (qname, definition, options, populated, comment, acl, default, colcomments, owner, indexes,
     has_statistics) = rows[0]
    if has_statistics:
        return f"materialized view {qname} has extended statistics, which dropping it loses"
    with_ = f" WITH ({', '.join(options)})" if options else ""
    out = [f"CREATE MATERIALIZED VIEW {qname}{with_} AS {definition.strip().rstrip(';')} "
           f"WITH {'' if populated else 'NO '}DATA", *_comment(f"MATERIALIZED VIEW {qname}", comment)]
    for col, text in colcomments or []:
        out += _comment(f"COLUMN {qname}.{ident(col)}", text)
    for indexdef, extras in indexes or []:
        out += [indexdef, *index_extras.restore(extras, options=False)]
    return out + _owner(f"MATERIALIZED VIEW {qname}", owner) + _acl_restore(f"TABLE {qname}", acl, default)


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
