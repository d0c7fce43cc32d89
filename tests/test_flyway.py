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


# --- repeatable migrations -----------------------------------------------------------------------------

REPEATABLE = {
    "V1__accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);\n",
    "V2__accounts_email.sql": "ALTER TABLE accounts ADD COLUMN email text;\n",
    # b sorts after a: the view uses the function; both use V2's column, so they must run after it
    "views/R__b_account_view.sql": "CREATE OR REPLACE VIEW account_view AS\n"
                                   "SELECT id, email, label(name) AS label FROM accounts;\n",
    "R__a_label_function.sql": "CREATE OR REPLACE FUNCTION label(t text) RETURNS text\n"
                               "LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;\n",
}


def _repeatable_states(db: Database, folder: Path) -> list[tuple[str, str, int]]:
    r = run_cli("status", *_args(db, folder, "--json"))
    assert r.code == 0, r.stderr
    return [(x["name"], x["state"], x["runs"]) for x in json.loads(r.stdout)["repeatables"]]


def test_repeatables_run_after_the_versioned_ones_and_again_when_changed(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", REPEATABLE)
    assert _repeatable_states(database, folder) == [("R__a_label_function.sql", "pending", 0),
                                                    ("R__b_account_view.sql", "pending", 0)]
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    events = [n for (n,) in database.query("SELECT migration_name FROM public._migration_audit "
                                           "WHERE event = 'applied' ORDER BY id")]
    assert events == ["V1__accounts.sql", "V2__accounts_email.sql", "R__a_label_function.sql",
                      "R__b_account_view.sql"]
    assert database.scalar("SELECT count(*) FROM public._migrations") == 2, "versioned history unchanged in shape"
    database.execute("INSERT INTO accounts VALUES (1, 'ada', 'ada@example.com')")
    assert database.scalar("SELECT label FROM account_view") == "ADA"
    assert _repeatable_states(database, folder) == [("R__a_label_function.sql", "applied", 1),
                                                    ("R__b_account_view.sql", "applied", 1)]
    again = run_cli("migrate", *_args(database, folder))
    assert again.code == 0 and database.scalar("SELECT count(*) FROM public._migration_audit "
                                               "WHERE event = 'applied'") == 4, "unchanged: nothing ran"

    (folder / "views" / "R__b_account_view.sql").write_text(
        "CREATE OR REPLACE VIEW account_view AS\nSELECT id, email, label(name) AS label, 1 AS v2 FROM accounts;\n",
        encoding="utf-8")
    text = run_cli("status", *_args(database, folder))
    assert ["OUTDATED", "R__b_account_view.sql", "1"] in [ln.split()[:3] for ln in text.stdout.splitlines()]
    assert "1 repeatable migration to run (1 changed since it ran)" in text.stdout
    dry = run_cli("dry-run", *_args(database, folder))
    assert dry.code == 0 and "R__b_account_view.sql" in dry.stdout and "R__a_label" not in dry.stdout
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT v2 FROM account_view") == 1
    assert _repeatable_states(database, folder) == [("R__a_label_function.sql", "applied", 1),
                                                    ("R__b_account_view.sql", "applied", 2)]
    checksums = database.query("SELECT checksum FROM public._migration_audit WHERE event = 'applied' "
                               "AND migration_name = 'R__b_account_view.sql' ORDER BY id")
    assert len({c for (c,) in checksums}) == 2, "each run recorded with its checksum"
    assert "R__b_account_view.sql" in run_cli("history", *_args(database, folder)).stdout

    # rolling back is of versioned migrations only: a repeatable's undo is manual (Flyway has none), so
    # V2's generated DROP COLUMN meets the view that depends on it, and nothing is rolled back
    back = run_cli("rollback", "1", *_args(database, folder))
    assert back.code == 1 and "account_view" in back.stderr, back.stdout + back.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 2
    assert run_cli("rollback-to", "R__b_account_view.sql", *_args(database, folder)).code == 2


def test_a_placeholder_value_change_does_not_rerun_a_repeatable(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "V1__t.sql": "CREATE TABLE t (id int);\n",
        "R__grants.sql": "COMMENT ON TABLE t IS '${who}';\n"})
    assert run_cli("migrate", *_args(database, folder, "--placeholder", "who=first")).code == 0
    assert run_cli("migrate", *_args(database, folder, "--placeholder", "who=second")).code == 0
    assert database.scalar("SELECT obj_description('t'::regclass)") == "first"
    assert _repeatable_states(database, folder) == [("R__grants.sql", "applied", 1)]


def test_a_repeatable_with_a_syntax_error_changes_nothing(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "V1__t.sql": "CREATE TABLE t (id int);\n",
        "R__view.sql": "-- a view\nCREATE OR REPLACE VIEW v AS SELEC id FROM t;\n"})
    for command in ("migrate", "dry-run"):
        r = run_cli(command, *_args(database, folder))
        assert r.code == 2, (command, r.stdout, r.stderr)
        assert "R__view.sql:2" in r.stderr and "Traceback" not in r.stderr, r.stderr
    _nothing_changed(database)
    assert not database.exists("public._migration_repeatables")


def test_a_failing_repeatable_is_not_recorded(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "V1__t.sql": "CREATE TABLE t (id int);\n",
        "R__view.sql": "CREATE OR REPLACE VIEW v AS SELECT missing_column FROM t;\n"})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1, r.stdout + r.stderr
    assert "R__view.sql" in r.stderr and "missing_column" in r.stderr
    assert database.exists("public.t"), "the versioned migration before it committed"
    assert database.scalar("SELECT count(*) FROM public._migration_repeatables") == 0
    assert _repeatable_states(database, folder) == [("R__view.sql", "pending", 0)]


def test_import_history_records_flyways_repeatables(database: Database, tmp_path: Path) -> None:
    from app.core.imports.flyway import crc32

    folder = _write(tmp_path / "migrations", REPEATABLE)
    ran_view = REPEATABLE["views/R__b_account_view.sql"]
    (folder / "views" / "R__b_account_view.sql").write_text(ran_view.replace("FROM", "FROM /* since */"),
                                                            encoding="utf-8")
    for name in ("V1__accounts.sql", "V2__accounts_email.sql", "R__a_label_function.sql"):
        database.execute(REPEATABLE[name])
    database.execute(ran_view)
    # flyway-database-postgresql's createMetaDataTable.sql; a repeatable has one row per run, version NULL
    database.execute("""CREATE TABLE "public"."flyway_schema_history" (
    "installed_rank" INT NOT NULL PRIMARY KEY, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL,
    "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER,
    "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
    "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL)""")
    rows = [(1, "1", "accounts", "V1__accounts.sql", crc32(REPEATABLE["V1__accounts.sql"])),
            (2, "2", "accounts email", "V2__accounts_email.sql", crc32(REPEATABLE["V2__accounts_email.sql"])),
            (3, None, "a label function", "R__a_label_function.sql", 12345),  # an older run
            (4, None, "b account view", "views/R__b_account_view.sql", crc32(ran_view)),
            (5, None, "a label function", "R__a_label_function.sql", crc32(REPEATABLE["R__a_label_function.sql"])),
            (6, None, "gone", "R__gone.sql", 7)]  # a repeatable whose file was deleted since
    with database.connect() as conn:
        for row in rows:
            conn.execute("INSERT INTO flyway_schema_history VALUES (%s, %s, %s, 'SQL', %s, %s, 'flyway', now(), "
                         "3, true)", row)
    r = run_cli("import-history", "--from", "flyway", "--json", *_args(database, folder))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["imported"] == ["V1__accounts.sql", "V2__accounts_email.sql", "R__a_label_function.sql",
                               "R__b_account_view.sql"]
    assert doc["changed"] == ["R__b_account_view.sql"]
    assert _repeatable_states(database, folder) == [("R__a_label_function.sql", "applied", 1),
                                                    ("R__b_account_view.sql", "outdated", 1)]
    assert database.scalar("SELECT count(*) FROM flyway_schema_history") == 6, "their table is read, never changed"
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    ran = [n for (n,) in database.query("SELECT migration_name FROM public._migration_audit "
                                        "WHERE event = 'applied' ORDER BY id")]
    assert ran == ["R__b_account_view.sql"], "only the repeatable changed since Flyway ran it"


# --- baseline migrations -------------------------------------------------------------------------------

BASELINE = {
    "V1__accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\n",
    "V2__accounts_name.sql": "ALTER TABLE accounts ADD COLUMN name text;\n",
    "V3__accounts_email.sql": "ALTER TABLE accounts ADD COLUMN email text;\n",
    # B2 squashes V1 and V2 (as a `flyway` user writes it, with what the schema is at 2)
    "B2__baseline.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, name text, from_baseline boolean);\n",
    "V4__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts);\n",
}


def test_an_empty_database_starts_from_the_highest_baseline(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", BASELINE)
    dry = run_cli("dry-run", *_args(database, folder))
    assert dry.code == 0, dry.stderr
    assert "starting from the baseline migration B2__baseline.sql" in dry.stdout + dry.stderr
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' "
                           "AND column_name = 'from_baseline'") == 1, "the baseline ran, not V1 and V2"
    assert database.exists("public.orders") and database.scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email'") == 1
    doc = json.loads(run_cli("status", *_args(database, folder, "--json")).stdout)
    states = [(m["name"], m["state"], m["baselined"]) for m in doc["migrations"]]
    assert states == [("V1__accounts.sql", "applied", True), ("V2__accounts_name.sql", "applied", True),
                      ("V3__accounts_email.sql", "applied", False), ("V4__orders.sql", "applied", False)]
    assert doc["health"] == "healthy", doc["reasons"]
    events = [n for (n,) in database.query("SELECT migration_name FROM public._migration_audit "
                                           "WHERE event = 'applied' ORDER BY id")]
    assert events == ["B2__baseline.sql", "V3__accounts_email.sql", "V4__orders.sql"]
    # rolling back into what the baseline made is manual, and refused as a whole
    r = run_cli("rollback", "3", *_args(database, folder))
    assert r.code == 2 and "covered by the baseline migration B2__baseline.sql" in r.stderr, r.stderr
    assert database.exists("public.orders"), "nothing was rolled back"


def test_a_target_below_the_baseline_and_a_database_with_history(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", BASELINE)
    assert run_cli("migrate", *_args(database, folder, "--target", "V1__accounts.sql")).code == 0
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts'") == 1, \
        "no baseline at or below 1: V1 ran"
    r = run_cli("migrate", *_args(database, folder))  # history now: the baseline is ignored
    assert r.code == 0, r.stderr
    assert "baseline" not in r.stdout + r.stderr
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' "
                           "AND column_name = 'from_baseline'") == 0
    assert database.scalar("SELECT count(*) FROM public._migrations") == 4


def test_a_baseline_alone_records_itself(database: Database, tmp_path: Path) -> None:
    files = {k: v for k, v in BASELINE.items() if k in ("B2__baseline.sql", "V3__accounts_email.sql")}
    folder = _write(tmp_path / "migrations", files)  # the old V files deleted, as after a squash
    assert run_cli("migrate", *_args(database, folder)).code == 0
    doc = json.loads(run_cli("status", *_args(database, folder, "--json")).stdout)
    assert [(m["name"], m["state"]) for m in doc["migrations"]] == [("B2__baseline.sql", "applied"),
                                                                    ("V3__accounts_email.sql", "applied")]
    assert doc["health"] == "healthy", doc["reasons"]
    assert run_cli("migrate", *_args(database, folder)).code == 0
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'applied'") == 2


def test_import_history_of_a_database_flyway_started_from_a_baseline(database: Database, tmp_path: Path) -> None:
    from app.core.imports.flyway import crc32

    folder = _write(tmp_path / "migrations", BASELINE)
    database.execute(BASELINE["B2__baseline.sql"] + BASELINE["V3__accounts_email.sql"])
    database.execute("""CREATE TABLE flyway_schema_history (
    installed_rank INT NOT NULL PRIMARY KEY, version VARCHAR(50), description VARCHAR(200) NOT NULL,
    type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL)""")
    with database.connect() as conn:
        conn.execute("INSERT INTO flyway_schema_history VALUES (1, '2', 'baseline', 'SQL_BASELINE', "
                     "'B2__baseline.sql', %s, 'flyway', now(), 4, true), (2, '3', 'accounts email', 'SQL', "
                     "'V3__accounts_email.sql', %s, 'flyway', now(), 1, true)",
                     (crc32(BASELINE["B2__baseline.sql"]), crc32(BASELINE["V3__accounts_email.sql"])))
    r = run_cli("import-history", "--from", "flyway", "--json", *_args(database, folder))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["imported"], doc["changed"]) == (
        ["V1__accounts.sql", "V2__accounts_name.sql", "V3__accounts_email.sql"], [])
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    ran = [n for (n,) in database.query("SELECT migration_name FROM public._migration_audit "
                                        "WHERE event = 'applied' ORDER BY id")]
    assert ran == ["V4__orders.sql"], "history now: the baseline file is not run"


def test_profile_placeholders_survive_an_edit(tmp_path: Path, monkeypatch: object) -> None:
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path))  # type: ignore[attr-defined]
    from app.core.environments import Profile, get_environment, save_environment

    save_environment(Profile("dev", dsn="postgresql://app@localhost/app", placeholders=(("schema", "app"),)))
    assert run_cli("env", "edit", "dev", "--colour", "#2a7").code == 0
    assert get_environment("dev").placeholders == (("schema", "app"),)
    assert "[environments.dev.placeholders]" in (tmp_path / "config" / "environments.toml").read_text()


def test_lint_all_replaces_placeholders_and_names_the_ones_without_a_server(tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "V1__t.sql": "CREATE TABLE ${schema}.t (id int);\n",
        "V2__owner.sql": "ALTER TABLE app.t OWNER TO ${flyway:user};\n"})
    r = run_cli("lint", "--all", "--migrations-dir", str(folder), "--placeholder", "schema=app")
    assert r.code == 2, r.stdout + r.stderr
    assert "V1__t.sql" not in r.stderr, "its placeholder has a value"
    assert "V2__owner.sql:1: uses the placeholder ${flyway:user}, which is read from the server" in r.stderr


def test_the_json_report_of_a_project_with_repeatables_and_a_baseline_validates(database: Database,
                                                                               tmp_path: Path) -> None:
    import jsonschema

    from app.paths import resources_dir

    folder = _write(tmp_path / "migrations", {**BASELINE, "R__view.sql": "CREATE VIEW v AS SELECT 1 AS one;\n"})
    assert run_cli("migrate", *_args(database, folder)).code == 0
    (folder / "R__view.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS one, 2 AS two;\n", encoding="utf-8")
    r = run_cli("report", "--json", *_args(database, folder))
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    schema = json.loads((resources_dir() / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)
    assert "repeatable_due" in [x["code"] for x in doc["health"]["reasons"]]


def test_a_builtin_can_be_given_as_flyways_configuration_would(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "V1__s.sql": "CREATE SCHEMA ${flyway:defaultSchema};\nCREATE TABLE ${flyway:defaultSchema}.t (id int);\n"})
    r = run_cli("migrate", *_args(database, folder, "--placeholder", "flyway:defaultSchema=app"))
    assert r.code == 0, r.stderr
    assert database.exists("app.t")
    bad = run_cli("migrate", *_args(database, folder, "--placeholder", "flyway:table=x"))
    assert bad.code == 2 and "is not one of Flyway's" in bad.stderr, bad.stderr


def test_a_failing_baseline_changes_nothing_and_is_not_a_versioned_failure(database: Database, tmp_path: Path) -> None:
    files = {**BASELINE, "B2__baseline.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\nSELECT 1/0;\n"}
    folder = _write(tmp_path / "migrations", files)
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1 and "B2__baseline.sql" in r.stderr, r.stdout + r.stderr
    _nothing_changed(database)
    doc = json.loads(run_cli("status", *_args(database, folder, "--json")).stdout)
    assert {m["state"] for m in doc["migrations"]} == {"pending"}


def test_repeatables_sort_by_flyways_description_order(tmp_path: Path) -> None:
    from app.core import layouts

    folder = _write(tmp_path / "migrations", {"V1__t.sql": "SELECT 1;\n", **{
        f"R__{d}.sql": "SELECT 1;\n" for d in ("bx", "b_x", "a", "B")}})
    reading = layouts.read(folder)
    assert [f.name for f in reading.repeatables] == ["R__B.sql", "R__a.sql", "R__b_x.sql", "R__bx.sql"]
    assert [f.name for f in reading.files] == ["V1__t.sql"]
