"""What recreating an index from its definition does not bring back: its comment, storage options (for a
constraint's index), CLUSTER mark, replica identity and the statistics targets of its expression columns.

A rollback of DROP INDEX or of ALTER TABLE ... DROP CONSTRAINT (a primary key, unique or exclusion
constraint, whose index goes with it) reads these just before and sets them again after recreating it.
"""

from __future__ import annotations

from app.core.rollback.names import literal

# a json object, or NULL when `{oid}` is no index (aliases ex_*: the query it is put into has its own)
_EXTRAS = """(SELECT pg_catalog.json_build_object(
    'name', pg_catalog.quote_ident(ex_i.relname),
    'qname', pg_catalog.quote_ident(ex_n.nspname) || '.' || pg_catalog.quote_ident(ex_i.relname),
    'table', pg_catalog.quote_ident(ex_tn.nspname) || '.' || pg_catalog.quote_ident(ex_t.relname),
    'matview', ex_t.relkind = 'm',
    'comment', pg_catalog.obj_description(ex_x.indexrelid, 'pg_class'), 'options', ex_i.reloptions,
    'clustered', ex_x.indisclustered, 'replident', ex_x.indisreplident,
    'stats', (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(ex_a.attnum, ex_a.attstattarget)
                                         ORDER BY ex_a.attnum)
              FROM pg_catalog.pg_attribute ex_a WHERE ex_a.attrelid = ex_x.indexrelid AND ex_a.attstattarget >= 0))
  FROM pg_catalog.pg_index ex_x JOIN pg_catalog.pg_class ex_i ON ex_i.oid = ex_x.indexrelid
  JOIN pg_catalog.pg_namespace ex_n ON ex_n.oid = ex_i.relnamespace
  JOIN pg_catalog.pg_class ex_t ON ex_t.oid = ex_x.indrelid
  JOIN pg_catalog.pg_namespace ex_tn ON ex_tn.oid = ex_t.relnamespace
  WHERE ex_x.indexrelid = {oid})"""


def extras_sql(oid: str) -> str:
    """SQL: the json object `restore` takes, for the index whose oid `oid` (an SQL expression) gives."""
    return _EXTRAS.format(oid=oid)


def restore(extras: dict | None, *, options: bool) -> list[str]:
    """Statements that set again, on the recreated index, what its definition leaves out; `options` when the
    definition also leaves out its storage options (a constraint's does)."""
    if not extras:
        return []
    qname = extras["qname"]
    out = []
    if extras.get("comment") is not None:
        out.append(f"COMMENT ON INDEX {qname} IS {literal(extras['comment'])}")
    if options and extras.get("options"):
        out.append(f"ALTER INDEX {qname} SET ({', '.join(extras['options'])})")
    for attnum, target in extras.get("stats") or ():
        out.append(f"ALTER INDEX {qname} ALTER COLUMN {int(attnum)} SET STATISTICS {int(target)}")
    if extras.get("clustered"):
        word = "MATERIALIZED VIEW" if extras.get("matview") else "TABLE"
        out.append(f"ALTER {word} {extras['table']} CLUSTER ON {extras['name']}")
    if extras.get("replident"):
        out.append(f"ALTER TABLE {extras['table']} REPLICA IDENTITY USING INDEX {extras['name']}")
    return out
