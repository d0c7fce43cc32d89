"""`tidemark lint`: dangerous operations found with file:line, rule, severity and the safer way."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Database, MigrationDir, run_cli

DANGEROUS = """\
-- Migration: everything a DBA fears
ALTER TABLE users ADD COLUMN age int NOT NULL;
CREATE INDEX users_email_idx ON users (email);
ALTER TABLE users ALTER COLUMN email TYPE varchar(300);
ALTER TABLE users RENAME COLUMN email TO mail;
ALTER TABLE orders
  ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE orders ALTER COLUMN total SET NOT NULL;
VACUUM FULL orders;
ALTER TABLE users DROP COLUMN legacy;
ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();
"""


def _findings(stdout: str) -> dict[tuple[int, str], dict]:
    doc = json.loads(stdout)
    return {(f["line"], f["rule"]): f for f in doc["findings"]}


def test_dangerous_file_findings_with_lines_and_exit_1(migrations: MigrationDir) -> None:
    path = migrations.add("danger", DANGEROUS)
    r = run_cli("lint", str(path), "--json")
    assert r.code == 1, r.stderr
    found = _findings(r.stdout)
    expected = {
        (2, "not-null-column-without-default"): "error",
        (2, "missing-lock-timeout"): "warning",
        (3, "index-not-concurrent"): "error",
        (4, "column-type-change"): "error",
        (5, "rename-column"): "error",
        (6, "constraint-without-not-valid"): "error",
        (8, "set-not-null"): "error",
        (9, "vacuum-full"): "error",
        (10, "drop-column"): "warning",
        (11, "default-rewrites-table"): "error",
    }
    assert {k: found[k]["severity"] for k in expected if k in found} == expected
    # squawk reports the foreign key twice (two rules): one finding
    assert sum(1 for (line, _rule) in found if line == 6) == 1
    assert found[(9, "vacuum-full")]["source"] == "tidemark"
    assert found[(3, "index-not-concurrent")]["squawk_rule"] == "require-concurrent-index-creation"
    assert all(f["fix"] for f in found.values())
    assert found[(3, "index-not-concurrent")]["location"] == f"{path}:3"

    human = run_cli("lint", str(path))
    assert human.code == 1
    assert f"{path}:3: error:" in human.stdout and "CONCURRENTLY" in human.stdout
    assert "8 errors, 2 warnings in 1 file (squawk" in human.stdout


def test_tables_created_in_the_run_are_new(migrations: MigrationDir) -> None:
    migrations.add("create", "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\n")
    migrations.add("index", "SET lock_timeout = '5s';\n"
                   "CREATE INDEX accounts_email_idx ON accounts (email);\n"
                   "ALTER TABLE accounts ADD COLUMN plan text NOT NULL;\n"
                   "CREATE TABLE audit (id bigint);\n"
                   "ALTER TABLE audit ALTER COLUMN id TYPE text;\n")
    r = run_cli("lint", "--all", "--migrations-dir", str(migrations.path), "--json")
    assert r.code == 0, r.stdout
    assert json.loads(r.stdout)["findings"] == []
    # linted alone, the second file sees accounts as an existing table
    second = sorted(migrations.path.iterdir())[1]
    found = _findings(run_cli("lint", str(second), "--json").stdout)
    assert set(found) == {(2, "index-not-concurrent"), (3, "not-null-column-without-default")}


def test_warnings_only_exit_0_and_ignore_comments(migrations: MigrationDir) -> None:
    path = migrations.add("drop", "SET lock_timeout = '3s';\n"
                          "ALTER TABLE users DROP COLUMN legacy;\n"
                          "-- tidemark:lint-ignore index-not-concurrent\n"
                          "CREATE INDEX small_idx ON tiny_lookup (code);\n")
    r = run_cli("lint", str(path), "--json")
    assert r.code == 0, r.stdout
    assert set(_findings(r.stdout)) == {(2, "drop-column")}


def test_runner_lock_timeout_silences_the_lock_timeout_rule(migrations: MigrationDir) -> None:
    path = migrations.add("rename", "ALTER TABLE users RENAME TO people;\n")
    assert (1, "missing-lock-timeout") in _findings(run_cli("lint", str(path), "--json").stdout)
    found = _findings(run_cli("lint", str(path), "--json", "--assume-lock-timeout").stdout)
    assert set(found) == {(1, "rename-table")}


def test_lint_checks_only_pending_migrations(database: Database, migrations: MigrationDir) -> None:
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n")
    assert run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path)).code == 0
    r = run_cli("lint", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 0 and "nothing to check" in r.stdout
    pending = migrations.add("email_index", "CREATE INDEX users_email_idx ON users (email);\n")
    r = run_cli("lint", "--dsn", database.dsn, "--migrations-dir", str(migrations.path), "--json")
    assert r.code == 1
    doc = json.loads(r.stdout)
    assert doc["files"] == [str(pending)]
    assert {(f["line"], f["rule"]) for f in doc["findings"]} == {(1, "index-not-concurrent")}


def test_syntax_error_is_bad_input(migrations: MigrationDir) -> None:
    path = migrations.add("broken", "CREATE TABLE a (id int);\nCREAT TABLE b (id int);\n")
    r = run_cli("lint", str(path))
    assert r.code == 2 and f"{path}:2" in r.stderr


def test_missing_file_is_a_usage_error(migrations: MigrationDir) -> None:
    r = run_cli("lint", str(migrations.path / "nope.sql"))
    assert r.code == 2 and "no such file" in r.stderr


def test_type_change_to_text_or_unbounded_varchar_is_a_warning(tmp_path: Path) -> None:
    from app.core.lint import lint_files

    f = tmp_path / "20260101000001_widen.sql"
    f.write_text("SET lock_timeout = '5s';\nALTER TABLE t ALTER COLUMN d TYPE varchar;\n"
                 "ALTER TABLE t ALTER COLUMN e TYPE text;\nALTER TABLE t ALTER COLUMN g TYPE varchar(200);\n")
    g = tmp_path / "20260101000002_int.sql"
    g.write_text("SET lock_timeout = '5s';\nALTER TABLE t ALTER COLUMN d TYPE integer USING d::integer;\n")
    result = lint_files([f, g])
    kinds = {(x.path.name, x.line): x.severity for x in result.findings if x.rule == "column-type-change"}
    # varchar(n) stays an error: without the catalog, a narrowing (a rewrite) looks the same
    assert kinds == {(f.name, 2): "warning", (f.name, 3): "warning", (f.name, 4): "error", (g.name, 2): "error"}
