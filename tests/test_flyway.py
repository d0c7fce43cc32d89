"""Flyway projects beyond V and U files: placeholders, repeatable and baseline migrations (real PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Database, run_cli


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def _args(db: Database, folder: Path, *more: str) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(folder), *more]


def _nothing_changed(db: Database) -> None:
    assert db.scalar("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                     "AND tablename NOT LIKE '\\_migration%'") == 0
    if db.exists("public._migrations"):
        assert db.scalar("SELECT count(*) FROM public._migrations") == 0


# --- placeholders --------------------------------------------------------------------------------------

PLACEHOLDERS = {
    "V1__schema.sql": "CREATE SCHEMA ${schema};\nCREATE TABLE ${schema}.accounts (id bigint PRIMARY KEY);\n"
                      "COMMENT ON TABLE ${schema}.accounts IS '${flyway:user}|${flyway:database}|"
                      "${flyway:defaultSchema}|${flyway:filename}';\n",
    "U1__schema.sql": "DROP SCHEMA ${schema} CASCADE;\n",
}


def test_placeholders_from_the_command_line_and_builtins(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", PLACEHOLDERS)
    dry = run_cli("dry-run", *_args(database, folder, "--placeholder", "schema=billing"))
    assert dry.code == 0, dry.stderr
    assert "CREATE SCHEMA billing" in dry.stdout and "DROP SCHEMA billing CASCADE" in dry.stdout
    r = run_cli("migrate", *_args(database, folder, "--placeholder", "schema=billing"))
    assert r.code == 0, r.stderr
    user, dbname = database.query("SELECT current_user, current_database()")[0]
    assert database.scalar("SELECT obj_description('billing.accounts'::regclass)") == (
        f"{user}|{dbname}|public|V1__schema.sql")
    # the checksum is of the file as written: another value is not a modified file
    stored, applied_sql = database.query("SELECT checksum, applied_sql FROM public._migrations")[0]
    from app.core.files import checksum

    assert stored == checksum(PLACEHOLDERS["V1__schema.sql"]) and "${schema}" in applied_sql
    doc = json.loads(run_cli("status", *_args(database, folder, "--json")).stdout)
    assert [m["state"] for m in doc["migrations"]] == ["applied"]
    assert run_cli("rollback", "1", *_args(database, folder, "--placeholder", "schema=other")).code == 0
    assert not database.exists("billing.accounts"), "the rollback stored at apply time (with billing) ran"


def test_placeholders_from_the_profile_and_tidemark_toml(database: Database, tmp_path: Path,
                                                       monkeypatch: object) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TIDEMARK_HOME", str(home))  # type: ignore[attr-defined]
    folder = _write(tmp_path / "project" / "db", {
        "V1__t.sql": "CREATE TABLE ${table} (id int);\nCREATE TABLE ${other} (id int);\n"})
    (tmp_path / "project" / "tidemark.toml").write_text(
        'layout = "flyway"\nplaceholders = { table = "from_toml", other = "toml_other" }\n', encoding="utf-8")
    (home).mkdir()
    from app.core.dirs import config_dir
    from app.core.environments import split_password

    dsn, password = split_password(database.dsn)
    if password:
        monkeypatch.setenv("PGPASSWORD", password)  # type: ignore[attr-defined]
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "environments.toml").write_text(
        f'version = 1\n[environments.dev]\ndsn = "{dsn}"\nmigrations_dir = "{folder}"\n'
        '[environments.dev.placeholders]\ntable = "from_profile"\n', encoding="utf-8")
    r = run_cli("migrate", "--environment", "dev")
    assert r.code == 0, r.stderr
    assert database.exists("public.from_profile") and database.exists("public.toml_other")
    assert not database.exists("public.from_toml"), "the profile wins over tidemark.toml"


def test_a_bad_placeholders_table_names_the_field(tmp_path: Path, monkeypatch: object) -> None:
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path))  # type: ignore[attr-defined]
    from app.core.dirs import config_dir

    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "environments.toml").write_text(
        'version = 1\n[environments.dev]\ndsn = "postgresql://localhost/x"\n'
        '[environments.dev.placeholders]\nschema = 3\n', encoding="utf-8")
    r = run_cli("status", "--environment", "dev")
    assert r.code == 2 and "placeholder 'schema' must be text" in r.stderr, r.stderr
    assert "environments.toml:" in r.stderr and "Traceback" not in r.stderr


def test_an_undefined_placeholder_is_refused_naming_file_and_line(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "V1__ok.sql": "CREATE TABLE a (id int);\n",
        "V2__grant.sql": "-- grants\nCREATE TABLE b (id int);\nGRANT SELECT ON b TO ${reader};\n"})
    for command in ("migrate", "dry-run"):
        r = run_cli(command, *_args(database, folder))
        assert r.code == 2, (command, r.stdout, r.stderr)
        assert "V2__grant.sql:3: uses the placeholder ${reader}, which has no value" in r.stderr
        assert "--placeholder reader=VALUE" in r.stderr and "Traceback" not in r.stderr
    _nothing_changed(database)
    r = run_cli("status", *_args(database, folder))  # status runs nothing: no value needed
    assert r.code == 0, r.stderr
    bad = run_cli("migrate", *_args(database, folder, "--placeholder", "no value"))
    assert bad.code == 2 and "expected NAME=VALUE" in bad.stderr


def test_a_placeholder_in_another_layout_is_left_alone(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "20260101000001_t.sql": "CREATE TABLE t (v text DEFAULT '${not_a_placeholder}');\n"})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    database.execute("INSERT INTO t DEFAULT VALUES")
    assert database.scalar("SELECT v FROM t") == "${not_a_placeholder}"
