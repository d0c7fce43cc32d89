"""A catalog snapshot: every user object of a database as a stable key and a normalised definition.

Used to prove rollbacks (apply then roll back leaves the snapshot equal), to compare
environments (drift) and for rehearsals. A handful of catalog queries, not one per object,
so a schema of 1000 tables is read in well under a second. Definitions never hold OIDs or
owners, and are read with search_path set to pg_catalog, so every user name is written
schema-qualified: two databases with the same schema give equal snapshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import psycopg

from app.core.place import place_of

# Tidemark's own history tables are not part of the schema a migration manages.
HISTORY_TABLES = ("_migrations", "_migration_rollbacks", "_migration_audit")

DiffKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class ObjectDiff:
    """One object that differs between two snapshots."""

    key: str
    kind: DiffKind
    before: str | None
    after: str | None


@dataclass(frozen=True)
class CatalogSnapshot:
    """Every object's key ("table public.users") mapped to its normalised definition."""

    objects: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly form."""
        return {"objects": dict(sorted(self.objects.items()))}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CatalogSnapshot:
        """The inverse of to_dict."""
        objects = data.get("objects", {})
        assert isinstance(objects, dict)
        return cls({str(k): str(v) for k, v in objects.items()})

    def __len__(self) -> int:
        return len(self.objects)


def diff(a: CatalogSnapshot, b: CatalogSnapshot) -> list[ObjectDiff]:
    """What changed from a to b, sorted by key."""
    out: list[ObjectDiff] = []
    for key in sorted(a.objects.keys() | b.objects.keys()):
        before, after = a.objects.get(key), b.objects.get(key)
        if before == after:
            continue
        kind: DiffKind = "added" if before is None else "removed" if after is None else "changed"
        out.append(ObjectDiff(key, kind, before, after))
    return out


# --- the queries ------------------------------------------------------------------------------
# Each query returns (catalog, oid, subid, key, definition, acl, default_acl) rows; catalog/oid/subid
# only map comments onto keys and never leave this module. acl/default_acl are the normalised
# privileges and their default; a grant entry is emitted only when they differ.

_NS = """
ns AS (
  SELECT n.oid, n.nspname, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n
  WHERE CASE WHEN %(schemas)s::text[] IS NULL
        THEN n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
        ELSE n.nspname = ANY(%(schemas)s::text[]) END
),
ext AS (  -- members of extensions
  SELECT d.classid, d.objid FROM pg_catalog.pg_depend d WHERE d.deptype = 'e'
),
implicit AS (  -- functions made with another object (a range type's constructors)
  SELECT d.objid FROM pg_catalog.pg_depend d
  WHERE d.deptype = 'i' AND d.classid = 'pg_catalog.pg_proc'::regclass
),
hist AS (
  SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = %(history_schema)s AND c.relname IN ('_migrations', '_migration_rollbacks', '_migration_audit')
),
rel AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relowner, c.relacl, c.reloptions, c.relpersistence,
         c.relpartbound, c.relreplident, c.relrowsecurity, c.relforcerowsecurity, c.reltype,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qname
  FROM pg_catalog.pg_class c JOIN ns n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f', 'c')
    AND c.oid NOT IN (SELECT oid FROM hist)
    AND (x.indrelid IS NULL OR x.indrelid NOT IN (SELECT oid FROM hist))
    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_class'::regclass AND ext.objid = c.oid)
    AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_type'::regclass AND ext.objid = c.reltype)
    -- identity sequences belong to their column; serial sequences of the history tables are Tidemark's
    AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
        AND (d.deptype = 'i' OR (d.deptype = 'a' AND d.refobjid IN (SELECT oid FROM hist)))))
)"""




def _acl(acl: str, kind: str, owner: str) -> str:
    """SQL: an ACL as 'grantee privilege[ WITH GRANT OPTION][ BY grantor]' items, owner-neutral."""
    return f"""(SELECT string_agg(
        CASE WHEN a.grantee = 0 THEN 'PUBLIC' WHEN a.grantee = {owner} THEN '<owner>'
             ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
        || ' ' || a.privilege_type
        || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
        || CASE WHEN a.grantor = {owner} THEN '' ELSE ' BY '
                || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantor)) END,
        ', ' ORDER BY a.grantee, a.privilege_type, a.grantor)
      FROM pg_catalog.aclexplode(coalesce({acl}, pg_catalog.acldefault({kind}, {owner}))) a)"""


def _acls(acl: str, kind: str, owner: str) -> str:
    """SQL: the two ACL columns, the object's and the default one."""
    return f"{_acl(acl, kind, owner)}, {_acl('NULL', kind, owner)}"


_Q = "pg_catalog.quote_ident"
_NOACL = "NULL::text, NULL::text"
_RELKIND_ACL = "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\""


def _not_ext(catalog: str, oid: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.{catalog}'::regclass AND ext.objid = {oid})"


_SCHEMAS = f"""WITH {_NS}
SELECT 'pg_namespace', n.oid, 0, 'schema ' || {_Q}(n.nspname), '', {_acls('n.nspacl', "'n'", 'n.nspowner')}
FROM ns n WHERE {_not_ext('pg_namespace', 'n.oid')}
"""

_RELATIONS = f"""WITH {_NS}
SELECT 'pg_class', c.oid, 0,
  CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence '
       WHEN 'i' THEN 'index ' WHEN 'I' THEN 'index ' WHEN 'f' THEN 'foreign table ' ELSE 'table ' END
    || c.qname,
  CASE
    WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid)
      || coalesce(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')
    WHEN c.relkind IN ('i', 'I') THEN pg_catalog.pg_get_indexdef(c.oid)
      || CASE WHEN x.indisvalid THEN '' ELSE ' INVALID' END
      || CASE WHEN x.indisclustered THEN ' CLUSTERED' ELSE '' END
      || CASE WHEN x.indisreplident THEN ' REPLICA IDENTITY' ELSE '' END
      || coalesce(' STATISTICS (' || (SELECT pg_catalog.string_agg(a.attnum || '=' || a.attstattarget, ', '
             ORDER BY a.attnum) FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attstattarget >= 0)
           || ')', '')
    WHEN c.relkind = 'S' THEN (
      SELECT 'AS ' || pg_catalog.format_type(s.seqtypid, NULL) || ' INCREMENT ' || s.seqincrement
        || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' START ' || s.seqstart
        || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END
      FROM pg_catalog.pg_sequence s WHERE s.seqrelid = c.oid)
      || coalesce((SELECT ' OWNED BY ' || {_Q}(tn.nspname) || '.' || {_Q}(t.relname) || '.' || {_Q}(a.attname)
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class t ON t.oid = d.refobjid
          JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'a' AND d.refobjsubid > 0
          LIMIT 1), '')
    ELSE CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED' WHEN 't' THEN 'TEMPORARY' ELSE 'LOGGED' END
      || coalesce(' PARTITION BY ' || pg_catalog.pg_get_partkeydef(c.oid), '')
      || coalesce(' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid), '')
      || coalesce(' INHERITS (' || (SELECT string_agg({_Q}(pn.nspname) || '.' || {_Q}(p.relname), ', '
             ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
             JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace WHERE i.inhrelid = c.oid) || ')', '')
      || coalesce(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')
      || CASE c.relreplident WHEN 'd' THEN '' ELSE ' REPLICA IDENTITY ' || c.relreplident::text END
  END,
  CASE WHEN c.relkind IN ('i', 'I') THEN NULL
       ELSE {_acl('c.relacl', _RELKIND_ACL, 'c.relowner')} END,
  CASE WHEN c.relkind IN ('i', 'I') THEN NULL
       ELSE {_acl('NULL', _RELKIND_ACL, 'c.relowner')} END
FROM rel c LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid
WHERE c.relkind <> 'c'
UNION ALL
SELECT NULL, NULL, NULL, 'rls ' || c.qname,
  CASE WHEN c.relrowsecurity THEN 'ENABLED' ELSE 'DISABLED' END
    || CASE WHEN c.relforcerowsecurity THEN ' FORCED' ELSE '' END, {_NOACL}
FROM rel c WHERE c.relrowsecurity OR c.relforcerowsecurity
"""

_COLUMNS = f"""WITH {_NS}
SELECT 'pg_class', a.attrelid, a.attnum, 'column ' || c.qname || '.' || {_Q}(a.attname),
  'position ' || pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)
    || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
    || CASE WHEN a.attcollation <> t.typcollation THEN ' COLLATE ' || (
         SELECT {_Q}(cn.nspname) || '.' || {_Q}(co.collname) FROM pg_catalog.pg_collation co
         JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) ELSE '' END
    || CASE WHEN a.attnotnull THEN coalesce((
         -- PostgreSQL 18 names NOT NULL constraints: a name other than the default one is part of the column
         SELECT ' CONSTRAINT ' || {_Q}(co.conname) FROM pg_catalog.pg_constraint co
         WHERE co.conrelid = a.attrelid AND co.contype = 'n' AND co.conkey = ARRAY[a.attnum]
           AND co.conname <> c.relname || '_' || a.attname || '_not_null'), '') || ' NOT NULL' ELSE '' END
    || CASE WHEN a.attgenerated = 's' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
              || ') STORED'
            WHEN a.attgenerated <> '' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(d.adbin, d.adrelid)
              || ') ' || a.attgenerated::text
            ELSE coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') END
    || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY'
                          WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END,
  CASE WHEN a.attacl IS NULL OR a.attacl = '{{}}' THEN NULL ELSE {_acl('a.attacl', "'c'", 'c.relowner')} END,
  NULL
FROM rel c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND a.attnum > 0 AND NOT a.attisdropped
"""

# NOT NULL constraints (PostgreSQL 18 keeps them in pg_constraint) are in the column's definition, with
# their name when it is not the default one, so a 15 and an 18 with the same columns compare equal.
_CONSTRAINTS = f"""WITH {_NS}
SELECT 'pg_constraint', co.oid, 0, 'constraint ' || c.qname || '.' || {_Q}(co.conname),
  pg_catalog.pg_get_constraintdef(co.oid), {_NOACL}
FROM rel c JOIN pg_catalog.pg_constraint co ON co.conrelid = c.oid
WHERE co.contype <> 'n'
"""

_TRIGGERS_POLICIES_RULES = f"""WITH {_NS}
SELECT 'pg_trigger', tg.oid, 0, 'trigger ' || c.qname || '.' || {_Q}(tg.tgname),
  pg_catalog.pg_get_triggerdef(tg.oid)
    || CASE tg.tgenabled WHEN 'O' THEN '' ELSE ' ENABLED ' || tg.tgenabled::text END, {_NOACL}
FROM rel c JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = c.oid
WHERE NOT tg.tgisinternal
UNION ALL
SELECT 'pg_policy', p.oid, 0, 'policy ' || c.qname || '.' || {_Q}(p.polname),
  CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END
    || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
    || ' TO ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                   ELSE {_Q}(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY 1)
                  FROM pg_catalog.unnest(p.polroles) r)
    || coalesce(' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '')
    || coalesce(' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')', ''), {_NOACL}
FROM rel c JOIN pg_catalog.pg_policy p ON p.polrelid = c.oid
UNION ALL
SELECT 'pg_rewrite', ru.oid, 0, 'rule ' || c.qname || '.' || {_Q}(ru.rulename),
  pg_catalog.pg_get_ruledef(ru.oid), {_NOACL}
FROM rel c JOIN pg_catalog.pg_rewrite ru ON ru.ev_class = c.oid
WHERE ru.rulename <> '_RETURN'
"""

_FUNCTIONS = f"""WITH {_NS}
SELECT 'pg_proc', p.oid, 0,
  CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
    || {_Q}(n.nspname) || '.' || {_Q}(p.proname) || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')',
  CASE WHEN p.prokind = 'a' THEN (
      SELECT 'AGGREGATE (' || pg_catalog.pg_get_function_arguments(p.oid) || ') SFUNC '
        || ag.aggtransfn::regproc::text || ' STYPE ' || pg_catalog.format_type(ag.aggtranstype, NULL)
        || CASE WHEN ag.aggfinalfn <> 0 THEN ' FINALFUNC ' || ag.aggfinalfn::regproc::text ELSE '' END
        || coalesce(' INITCOND ' || pg_catalog.quote_literal(ag.agginitval), '')
      FROM pg_catalog.pg_aggregate ag WHERE ag.aggfnoid = p.oid)
    ELSE pg_catalog.pg_get_functiondef(p.oid) END,
  {_acls('p.proacl', "'f'", 'p.proowner')}
FROM pg_catalog.pg_proc p JOIN ns n ON n.oid = p.pronamespace
WHERE {_not_ext('pg_proc', 'p.oid')} AND p.oid NOT IN (SELECT objid FROM implicit)
"""

_TYPES = f"""WITH {_NS}
SELECT 'pg_type', t.oid, 0,
  CASE t.typtype WHEN 'd' THEN 'domain ' ELSE 'type ' END || {_Q}(n.nspname) || '.' || {_Q}(t.typname),
  CASE t.typtype
    WHEN 'e' THEN 'ENUM (' || coalesce((SELECT string_agg(pg_catalog.quote_literal(e.enumlabel), ', '
                  ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), '') || ')'
    WHEN 'c' THEN 'COMPOSITE'
    WHEN 'r' THEN (SELECT 'RANGE (SUBTYPE = ' || pg_catalog.format_type(r.rngsubtype, NULL)
                     || CASE WHEN r.rngcanonical <> 0 THEN ', CANONICAL = ' || r.rngcanonical::regproc::text ELSE '' END
                     || CASE WHEN r.rngsubdiff <> 0 THEN ', SUBTYPE_DIFF = ' || r.rngsubdiff::regproc::text ELSE '' END
                     || ')' FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)
    WHEN 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod)
      || CASE WHEN t.typcollation <> bt.typcollation THEN ' COLLATE ' || (
           SELECT {_Q}(cn.nspname) || '.' || {_Q}(co.collname) FROM pg_catalog.pg_collation co
           JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) ELSE '' END
      || coalesce(' DEFAULT ' || t.typdefault, '')
      || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
      || coalesce((SELECT string_agg(' CONSTRAINT ' || {_Q}(co.conname) || ' '
                     || pg_catalog.pg_get_constraintdef(co.oid), '' ORDER BY co.conname)
                   FROM pg_catalog.pg_constraint co WHERE co.contypid = t.oid AND co.contype <> 'n'), '')
    ELSE 'BASE (INPUT = ' || t.typinput::text || ', OUTPUT = ' || t.typoutput::text || ')'
  END,
  {_acls('t.typacl', "'T'", 't.typowner')}
FROM pg_catalog.pg_type t JOIN ns n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
WHERE (t.typtype IN ('e', 'r', 'd')
       OR (t.typtype = 'b' AND t.typcategory <> 'A')
       OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))
  AND {_not_ext('pg_type', 't.oid')}
"""

_OTHERS = f"""WITH {_NS}
SELECT 'pg_extension', e.oid, 0, 'extension ' || {_Q}(e.extname),
  'VERSION ' || e.extversion || ' SCHEMA ' || {_Q}(n.nspname), {_NOACL}
FROM pg_catalog.pg_extension e JOIN ns n ON n.oid = e.extnamespace
UNION ALL
SELECT 'pg_statistic_ext', s.oid, 0, 'statistics ' || {_Q}(n.nspname) || '.' || {_Q}(s.stxname),
  pg_catalog.pg_get_statisticsobjdef(s.oid), {_NOACL}
FROM pg_catalog.pg_statistic_ext s JOIN ns n ON n.oid = s.stxnamespace
UNION ALL
SELECT NULL, NULL, NULL, 'default privileges ' || {_Q}(pg_catalog.pg_get_userbyid(d.defaclrole))
    || coalesce(' in schema ' || (SELECT {_Q}(n.nspname) FROM pg_catalog.pg_namespace n
                                  WHERE n.oid = d.defaclnamespace), '')
    || ' on ' || d.defaclobjtype::text,
  {_acl('d.defaclacl', 'd.defaclobjtype', 'd.defaclrole')}, {_NOACL}
FROM pg_catalog.pg_default_acl d
WHERE d.defaclnamespace = 0 OR d.defaclnamespace IN (SELECT oid FROM ns)
"""

_COMMENTS = """
SELECT d.classoid::regclass::text, d.objoid, d.objsubid, d.description
FROM pg_catalog.pg_description d WHERE d.objoid >= 16384
"""

_QUERIES = (_SCHEMAS, _RELATIONS, _COLUMNS, _CONSTRAINTS, _TRIGGERS_POLICIES_RULES, _FUNCTIONS, _TYPES, _OTHERS)


SCHEMA_TOKEN = "{schema}"  # a schema target's own schema in a tenant snapshot's keys


def tenant_snapshot(conn: psycopg.Connection, schema: str) -> CatalogSnapshot:
    """One schema target's objects, its own schema's name written as {schema} in keys and definitions:
    tenants that one set of files made compare equal (tenant_a.users and tenant_b.users are the same
    object of the fleet). Definitions are read with the schema visible, so most name it not at all;
    those PostgreSQL always qualifies (a function's own name, an index's or trigger's table) have the
    qualifier replaced, as a name, never inside another identifier."""
    snap = snapshot(conn, [schema], own_schema=schema)
    qualified = re.compile(r'(?<![\w"$.])' + re.escape(_quoted(conn, schema)) + r"(?=\.|$)")
    return CatalogSnapshot({qualified.sub(SCHEMA_TOKEN, key): qualified.sub(SCHEMA_TOKEN, value)
                            for key, value in snap.objects.items()})


def snapshot(conn: psycopg.Connection, schemas: list[str] | None = None, *, own_schema: str | None = None
             ) -> CatalogSnapshot:
    """Read every object of the given schemas (None: every user schema) into a snapshot.

    `own_schema`: visible while definitions are read, so they name its objects unqualified.
    """
    # The history's schema (public, or a schema target's): its tables are left out of what is compared.
    params = {"schemas": list(schemas) if schemas is not None else None, "history_schema": place_of(conn).schema}
    old_path = conn.execute("SELECT pg_catalog.current_setting('search_path')").fetchone()
    # pg_get_*def and format_type qualify every name not visible: with only pg_catalog visible,
    # definitions read the same whatever the caller's search_path.
    path = "pg_catalog" if own_schema is None else "pg_catalog, " + _quoted(conn, own_schema)
    conn.execute("SELECT pg_catalog.set_config('search_path', %s, false)", (path,))
    try:
        rows: list[tuple] = []
        for query in _QUERIES:
            rows.extend(conn.execute(query, params).fetchall())
        comments = conn.execute(_COMMENTS).fetchall()
    finally:
        # in a failed transaction the SET is undone with it (and another statement would only fail)
        if old_path is not None and conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute("SELECT pg_catalog.set_config('search_path', %s, false)", (old_path[0],))
    return CatalogSnapshot(_objects(rows, comments))


def _quoted(conn: psycopg.Connection, name: str) -> str:
    row = conn.execute("SELECT pg_catalog.quote_ident(%s)", (name,)).fetchone()
    return row[0] if row else name


def _objects(rows: Iterable[tuple], comments: Iterable[tuple]) -> dict[str, str]:
    objects: dict[str, str] = {}
    keys: dict[tuple[str, int, int], str] = {}
    for catalog, oid, subid, key, definition, acl, default_acl in rows:
        objects[key] = definition or ""
        if catalog is not None:
            keys[(catalog, oid, subid)] = key
        if acl != default_acl and (acl is not None or default_acl is not None):
            objects["grant " + key] = acl or "(none)"
    for catalog, oid, subid, text in comments:
        key = keys.get((catalog.removeprefix("pg_catalog."), oid, subid))
        if key is not None:
            objects["comment " + key] = text
    return objects
