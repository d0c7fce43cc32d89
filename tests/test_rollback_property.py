"""Property: for generated sets of invertible migrations, apply then roll back leaves the catalog as it was.

Each example gets its own schema (with a few objects made before the migrations, so that
CREATE OR REPLACE, SET DEFAULT, SET NOT NULL... meet existing ones), writes several migration
files of several statements, applies them one at a time (snapshot after each), rolls back a
random number of them (the catalog must equal the snapshot at that point), then the rest
(the catalog must equal the one before everything).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.catalog import CatalogSnapshot, diff, snapshot
from tests.conftest import Database, MigrationDir, run_cli

ROLE = "tm_property_role"
TYPES = ["int", "bigint", "text", "varchar(20)", "numeric(8,2)", "boolean", "smallint"]
DEFAULTS = {"int": "0", "bigint": "1", "text": "'t'", "varchar(20)": "'v'", "numeric(8,2)": "1.5",
            "boolean": "true", "smallint": "2"}
WIDER = {"int": ["bigint"], "smallint": ["int", "bigint"], "varchar(20)": ["varchar(40)", "text"],
         "numeric(8,2)": ["numeric(10,2)", "numeric(12,4)"]}
_counter = itertools.count(1)


@dataclass
class Col:
    type: str
    notnull: bool = False
    default: str | None = None
    pk: bool = False


@dataclass
class Table:
    cols: dict[str, Col]
    viewed: set[str] = field(default_factory=set)  # columns a view depends on: their type stays


@dataclass
class World:
    """What exists in the example's schema, so each generated statement is valid when it runs."""

    schema: str
    tables: dict[str, Table] = field(default_factory=dict)
    views: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # name -> argument type
    n: int = 0
    unqualified: bool = False  # the current file set search_path and writes bare names

    def new(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def q(self, name: str) -> str:
        return name if self.unqualified else f"{self.schema}.{name}"


def _setup(world: World) -> str:
    """Objects there before the migrations (not rolled back)."""
    s = world.schema
    world.tables["base"] = Table({"id": Col("int", True, pk=True), "label": Col("text", False, "'x'"),
                                  "qty": Col("int"), "code": Col("varchar(20)")})
    world.tables["base"].viewed = {"id", "label"}
    world.views["base_v"] = ("base", ["id", "label"])
    world.functions["base_f"] = "int"
    return (f"CREATE SCHEMA {s};\n"
            f"CREATE TABLE {s}.base (id int NOT NULL PRIMARY KEY, label text DEFAULT 'x', qty int, code varchar(20));\n"
            f"CREATE VIEW {s}.base_v AS SELECT id, label FROM {s}.base WHERE id > 0;\n"
            f"CREATE FUNCTION {s}.base_f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;\n"
            f"CREATE FUNCTION {s}.trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
            f"COMMENT ON TABLE {s}.base IS 'base';\n"
            f"GRANT SELECT ON {s}.base TO {ROLE};\n")


def _statement(draw: st.DrawFn, w: World) -> str:
    """One valid, invertible statement for the current world (and the world updated)."""
    kinds = ["table", "sequence", "type", "function", "schema_grant"]
    if w.tables:
        kinds += ["index", "view", "comment", "grant", "add_column", "rename_column", "default", "not_null",
                  "check", "rls", "trigger", "widen"]
    if w.functions:
        kinds += ["replace_function", "comment_function"]
    if w.views:
        kinds += ["replace_view"]
    kind = draw(st.sampled_from(kinds))
    tname = draw(st.sampled_from(sorted(w.tables))) if w.tables else ""
    table = w.tables.get(tname)
    if kind == "table":
        name = w.new("t")
        cols = {}
        parts = ["id int PRIMARY KEY"] if draw(st.booleans()) else []
        for _ in range(draw(st.integers(1, 4))):
            cname, ctype = w.new("c"), draw(st.sampled_from(TYPES))
            col = Col(ctype, draw(st.booleans()), DEFAULTS[ctype] if draw(st.booleans()) else None)
            cols[cname] = col
            parts.append(f"{cname} {ctype}{' NOT NULL' if col.notnull else ''}"
                         f"{' DEFAULT ' + col.default if col.default else ''}"
                         f"{' UNIQUE' if draw(st.booleans()) and ctype != 'boolean' else ''}")
        if parts[0].startswith("id "):
            cols = {"id": Col("int", True, pk=True), **cols}
        w.tables[name] = Table(cols)
        return f"CREATE TABLE {w.q(name)} ({', '.join(parts)})"
    if kind == "sequence":
        return f"CREATE SEQUENCE {w.q(w.new('s'))} START {draw(st.integers(1, 50))} INCREMENT {draw(st.integers(1, 5))}"
    if kind == "type":
        name = w.new("ty")
        if draw(st.booleans()):
            return f"CREATE TYPE {w.q(name)} AS ENUM ('a', 'b', 'c')"
        return f"CREATE TYPE {w.q(name)} AS (x int, y text)"
    if kind == "function":
        name, arg = w.new("f"), draw(st.sampled_from(["int", "text", "bigint"]))
        w.functions[name] = arg
        return (f"CREATE FUNCTION {w.q(name)}(a {arg}, b int DEFAULT 1) RETURNS {arg} LANGUAGE sql "
                f"{draw(st.sampled_from(['IMMUTABLE', 'STABLE', 'VOLATILE']))} AS $$ SELECT a $$")
    if kind == "replace_function":
        name = draw(st.sampled_from(sorted(w.functions)))
        arg = w.functions[name]
        if name == "base_f":
            return (f"CREATE OR REPLACE FUNCTION {w.q(name)}(a int) RETURNS int LANGUAGE sql "
                    f"{draw(st.sampled_from(['IMMUTABLE', 'STABLE']))} AS $$ SELECT a + {draw(st.integers(0, 9))} $$")
        return (f"CREATE OR REPLACE FUNCTION {w.q(name)}(a {arg}, b int DEFAULT 1) RETURNS {arg} LANGUAGE sql "
                f"{draw(st.sampled_from(['IMMUTABLE', 'STABLE']))} AS $$ SELECT a $$")
    if kind == "comment_function":
        name = draw(st.sampled_from(sorted(w.functions)))
        args = "int" if name == "base_f" else f"{w.functions[name]}, int"
        text = draw(st.sampled_from(["'f'", "'it''s'", "NULL"]))
        return f"COMMENT ON FUNCTION {w.q(name)}({args}) IS {text}"
    if kind == "schema_grant":
        return f"GRANT USAGE ON SCHEMA {w.schema} TO {ROLE}"
    assert table is not None
    col = draw(st.sampled_from(sorted(table.cols)))
    if kind == "index":
        unique = "UNIQUE " if draw(st.booleans()) and table.cols[col].type != "boolean" else ""
        where = f" WHERE {col} IS NOT NULL" if draw(st.booleans()) else ""
        if draw(st.booleans()):
            return f"CREATE {unique}INDEX ON {w.q(tname)} ({col}){where}"
        return f"CREATE {unique}INDEX {w.new('ix')} ON {w.q(tname)} ({col}){where}"
    if kind == "view":
        name = w.new("v")
        cols = sorted(table.cols)[: draw(st.integers(1, len(table.cols)))]
        w.views[name] = (tname, cols)
        table.viewed.update(cols)
        return f"CREATE VIEW {w.q(name)} AS SELECT {', '.join(cols)} FROM {w.q(tname)}"
    if kind == "replace_view":
        name = draw(st.sampled_from(sorted(w.views)))
        vt, cols = w.views[name]
        return (f"CREATE OR REPLACE VIEW {w.q(name)} AS SELECT {', '.join(cols)} FROM {w.q(vt)} "
                f"WHERE {draw(st.sampled_from(['true', 'false', '1 = 1']))}")
    if kind == "comment":
        text = draw(st.sampled_from(["'c'", "'x y'", "NULL"]))
        if draw(st.booleans()):
            return f"COMMENT ON TABLE {w.q(tname)} IS {text}"
        return f"COMMENT ON COLUMN {w.q(tname)}.{col} IS {text}"
    if kind == "grant":
        privs = draw(st.sampled_from(["SELECT", "INSERT, UPDATE", "ALL", f"UPDATE ({col})", "SELECT, DELETE"]))
        verb = draw(st.sampled_from(["GRANT", "REVOKE"]))
        if verb == "GRANT":
            return f"GRANT {privs} ON {w.q(tname)} TO {ROLE}{' WITH GRANT OPTION' if draw(st.booleans()) else ''}"
        return f"REVOKE {privs} ON {w.q(tname)} FROM {ROLE}"
    if kind == "add_column":
        name, ctype = w.new("c"), draw(st.sampled_from(TYPES))
        default = DEFAULTS[ctype] if draw(st.booleans()) else None
        table.cols[name] = Col(ctype, False, default)
        return f"ALTER TABLE {w.q(tname)} ADD COLUMN {name} {ctype}{' DEFAULT ' + default if default else ''}"
    if kind == "rename_column":
        new = w.new("r")
        table.cols[new] = table.cols.pop(col)
        if col in table.viewed:
            table.viewed.discard(col)
            table.viewed.add(new)
            for vname, (vt, vcols) in list(w.views.items()):
                # CREATE OR REPLACE VIEW must keep the column names: alias the renamed one (again, when
                # it was renamed before: `r1 AS id` becomes `r2 AS id`)
                if vt == tname and any(c.split(" AS ")[0] == col for c in vcols):
                    w.views[vname] = (vt, [f"{new} AS {c.split(' AS ')[-1]}" if c.split(" AS ")[0] == col else c
                                           for c in vcols])
        return f"ALTER TABLE {w.q(tname)} RENAME COLUMN {col} TO {new}"
    if kind == "default":
        c = table.cols[col]
        if c.default is not None and draw(st.booleans()):
            c.default = None
            return f"ALTER TABLE {w.q(tname)} ALTER COLUMN {col} DROP DEFAULT"
        c.default = DEFAULTS.get(c.type, "NULL")
        return f"ALTER TABLE {w.q(tname)} ALTER COLUMN {col} SET DEFAULT {c.default}"
    if kind == "not_null":
        c = table.cols[col]
        if c.pk:
            return f"ALTER TABLE {w.q(tname)} ALTER COLUMN {col} SET NOT NULL"  # already so: nothing to undo
        c.notnull = not c.notnull
        return f"ALTER TABLE {w.q(tname)} ALTER COLUMN {col} {'SET' if c.notnull else 'DROP'} NOT NULL"
    if kind == "check":
        expr = f"{col} IS NOT NULL OR true"
        if draw(st.booleans()):
            return f"ALTER TABLE {w.q(tname)} ADD CONSTRAINT {w.new('ck')} CHECK ({expr})"
        return f"ALTER TABLE {w.q(tname)} ADD CHECK ({expr})"
    if kind == "rls":
        if draw(st.booleans()):
            return f"ALTER TABLE {w.q(tname)} ENABLE ROW LEVEL SECURITY"
        return f"CREATE POLICY {w.new('pol')} ON {w.q(tname)} FOR SELECT TO {ROLE} USING (true)"
    if kind == "trigger":
        return (f"CREATE TRIGGER {w.new('tg')} BEFORE INSERT OR UPDATE ON {w.q(tname)} "
                f"FOR EACH ROW EXECUTE FUNCTION {w.schema}.trg()")
    assert kind == "widen"
    options = [(c, WIDER[t.type]) for c, t in table.cols.items() if t.type in WIDER and c not in table.viewed]
    if not options:
        return f"COMMENT ON TABLE {w.q(tname)} IS 'nothing to widen'"
    c, wider = draw(st.sampled_from(options))
    new_type = draw(st.sampled_from(wider))
    table.cols[c].type = new_type
    return f"ALTER TABLE {w.q(tname)} ALTER COLUMN {c} TYPE {new_type}"


@st.composite
def migration_sets(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A setup script and several files of several statements each."""
    w = World(f"p{next(_counter)}")
    setup = _setup(w)
    files = []
    for _ in range(draw(st.integers(1, 4))):
        w.unqualified = draw(st.booleans())
        head = [f"SET search_path = {w.schema}, public"] if w.unqualified else []
        files.append(head + [_statement(draw, w) for _ in range(draw(st.integers(1, 5)))])
    return setup, files


def _snap(db: Database) -> CatalogSnapshot:
    with db.connect() as conn:
        return snapshot(conn)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(case=migration_sets(), partial=st.integers(0, 3))
def test_apply_then_roll_back_restores_the_catalog(database: Database, case: tuple[str, list[list[str]]],
                                                   partial: int) -> None:
    setup, files = case
    database.execute(f"DO $$ BEGIN CREATE ROLE {ROLE}; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"
                     "DO $$ BEGIN IF to_regclass('public._migrations') IS NOT NULL THEN "
                     "DELETE FROM public._migrations; END IF; END $$;\n" + setup)
    folder = Path(tempfile.mkdtemp(prefix="tm-prop-"))
    try:
        migrations = MigrationDir(folder)
        args = ["--dsn", database.dsn, "--migrations-dir", str(folder)]
        states = [_snap(database)]
        for i, statements in enumerate(files):
            path = migrations.add(f"m{i}", ";\n".join(statements) + ";\n")
            r = run_cli("migrate", "--target", path.stem, *args)
            assert r.code == 0, f"{r.stderr}\n{path.read_text()}"
            states.append(_snap(database))
        kinds = database.query("SELECT name, rollback_kind, rollback_note FROM public._migrations")
        assert all(k == "generated" for _, k, _ in kinds), kinds
        k = min(partial, len(files))
        if k:
            r = run_cli("rollback", str(k), *args)
            assert r.code == 0, r.stderr
            assert diff(states[len(files) - k], _snap(database)) == []
        if len(files) - k:
            r = run_cli("rollback", str(len(files) - k), *args)
            assert r.code == 0, r.stderr
        changes = diff(states[0], _snap(database))
        stored = "\n".join(str(row[0]) for row in database.query(
            "SELECT rollback_sql FROM public._migration_rollbacks ORDER BY id"))
        assert changes == [], f"{changes}\n--- rollbacks run:\n{stored}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
