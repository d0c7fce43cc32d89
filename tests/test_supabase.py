"""Supabase projects: config.toml, the shim with the seed's example, the Supabase CLI's history table."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.connect import describe_dsn, resolve_target
from app.core.errors import MigrationFailed, UsageError
from app.core.files import checksum
from app.core.stand_ins import install_stand_ins
from app.core.supabase import read_config
from app.core.supabase_history import CREATE_TABLE
from tests.conftest import Database, MigrationDir, run_cli

SEED_EXAMPLE = """-- Migration: Add user preferences table
-- Description: Adds table for storing user preferences and settings

CREATE TABLE public.user_preferences (
  id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  user_id UUID REFERENCES auth.users(id) ON DELETE CASCADE,
  preferences JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
  updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

-- Create indexes
CREATE INDEX idx_user_preferences_user_id ON public.user_preferences(user_id);

-- Enable RLS
ALTER TABLE public.user_preferences ENABLE ROW LEVEL SECURITY;

-- Create RLS policies
CREATE POLICY "Users can manage own preferences" ON public.user_preferences
  FOR ALL USING (auth.uid() = user_id);

-- Create trigger for updated_at
CREATE TRIGGER handle_updated_at BEFORE UPDATE ON public.user_preferences
  FOR EACH ROW EXECUTE FUNCTION public.handle_updated_at();
"""

SETUP = """-- Migration: Extensions and the updated_at trigger function
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

CREATE FUNCTION public.handle_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;
"""


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[Path]:
    """The stand-in extensions in a folder the test server's OS user can read."""
    root = Path(tempfile.mkdtemp(prefix="tm-stand-ins-"))
    root.chmod(0o755)
    yield install_stand_ins(root / "ext")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def supabase_db(database: Database, stand_ins: Path) -> Database:
    """A database where CREATE EXTENSION "uuid-ossp" works: the real one, or the sandbox's stand-ins (PG 18+)."""
    if not database.scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'uuid-ossp'"):
        assert database.server.major >= 18, "no uuid-ossp and no extension_control_path"
        database.execute(f"ALTER DATABASE {database.name} SET extension_control_path = '$system:{stand_ins}'")
    return database


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


# --- config.toml ----------------------------------------------------------------------------------


def test_config_toml_is_read(tmp_path: Path) -> None:
    cfg_file = tmp_path / "supabase" / "config.toml"
    cfg_file.parent.mkdir()
    cfg_file.write_text('project_id = "tidemark-demo"\n\n[db]\nport = 54322\nshadow_port = 54320\n'
                        'major_version = 15\n\n[db.migrations]\nenabled = true\n\n[api]\nport = 54321\n')
    cfg = read_config(cfg_file)
    assert (cfg.project_id, cfg.db_port, cfg.db_shadow_port, cfg.db_major_version) == ("tidemark-demo", 54322,
                                                                                        54320, 15)
    assert "tidemark-demo" in cfg.summary() and "PostgreSQL 15" in cfg.summary()
    cfg_file.write_text('project_id = "x"\n[db\nport = 1\n')
    with pytest.raises(UsageError, match=r"config\.toml: not valid TOML.*line 2"):
        read_config(cfg_file)
    cfg_file.write_text('[db]\nport = "fast"\n')
    with pytest.raises(UsageError, match=r"db\.port must be a whole number"):
        read_config(cfg_file)


def test_supabase_project_folder_opens_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.files import default_migrations_dir
    from app.core.supabase import project_config

    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    (tmp_path / "supabase" / "config.toml").write_text('project_id = "abc"\n[db]\nmajor_version = 17\n')
    assert default_migrations_dir(tmp_path) == tmp_path / "supabase" / "migrations"
    cfg = project_config(tmp_path, tmp_path / "supabase" / "migrations")
    assert cfg is not None and cfg.project_id == "abc" and cfg.db_major_version == 17
    assert project_config(tmp_path / "supabase") is None


def test_pooler_dsn_parses_and_displays_without_password() -> None:
    password = secrets.token_urlsafe(12)
    dsn = (f"postgresql://postgres.abcdefghijklmnopqrst:{password}@aws-0-eu-central-1.pooler.supabase.com:6543/"
           "postgres?sslmode=require")
    target = resolve_target(dsn, env={})
    shown = target.display()
    assert shown == "postgres.abcdefghijklmnopqrst@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
    assert password not in shown and password not in describe_dsn(dsn)
    r = run_cli("status", "--dsn", dsn.replace("aws-0-eu-central-1.pooler.supabase.com", "127.0.0.1").replace(
        ":6543/", ":1/"), "--migrations-dir", ".")
    assert r.code == 2 and password not in r.stderr + r.stdout


# --- the shim -------------------------------------------------------------------------------------


def test_shim_runs_the_seed_example_with_rls(supabase_db: Database, migrations: MigrationDir) -> None:
    db = supabase_db
    r = run_cli("supabase-shim", "--dsn", db.dsn)
    assert r.code == 0, r.stderr
    assert "shim installed" in r.stdout and "uuid-ossp" in r.stdout
    migrations.add("setup", SETUP)
    migrations.add("user_preferences", SEED_EXAMPLE)
    r = run_cli("migrate", *_args(db, migrations))
    assert r.code == 0, r.stderr
    alice, bob = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    with db.connect() as conn:
        conn.execute("INSERT INTO auth.users (id, email) VALUES (%s, 'alice@example.com'), "
                     "(%s, 'bob@example.com')", (alice, bob))
        conn.execute("INSERT INTO public.user_preferences (user_id, preferences) VALUES (%s, '{\"theme\": 1}'), "
                     "(%s, '{}')", (alice, bob))
        with conn.transaction():
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                         (f'{{"sub": "{alice}", "role": "authenticated"}}',))
            assert conn.execute("SELECT auth.uid()::text, auth.role()").fetchone() == (alice, "authenticated")
            rows = conn.execute("SELECT user_id::text FROM public.user_preferences").fetchall()
            assert rows == [(alice,)], "RLS shows only alice's row"
            assert conn.execute("UPDATE public.user_preferences SET preferences = '{}' WHERE user_id = %s",
                                (bob,)).rowcount == 0
        with conn.transaction():
            conn.execute("SET LOCAL ROLE anon")
            assert conn.execute("SELECT count(*) FROM public.user_preferences").fetchone() == (0,)
    r = run_cli("rollback", "1", *_args(db, migrations))
    assert r.code == 0, r.stderr
    assert not db.exists("public.user_preferences")


def test_auth_functions_read_the_claims(database: Database) -> None:
    assert run_cli("supabase-shim", "--dsn", database.dsn).code == 0
    with database.connect() as conn:
        assert conn.execute("SELECT auth.uid(), auth.role(), auth.jwt()").fetchone() == (None, None, None)
        with conn.transaction():
            conn.execute("""SELECT set_config('request.jwt.claims',
                '{"sub": "33333333-3333-4333-8333-333333333333", "email": "c@example.com", "role": "service_role"}',
                true)""")
            uid, role, email, jwt = conn.execute("SELECT auth.uid(), auth.role(), auth.email(), auth.jwt()").fetchone()
            assert str(uid) == "33333333-3333-4333-8333-333333333333"
            assert (role, email, jwt["email"]) == ("service_role", "c@example.com", "c@example.com")
        assert conn.execute("SELECT auth.uid()").fetchone() == (None,), "claims were local to the transaction"
        roles = conn.execute("SELECT rolname, rolcanlogin, rolbypassrls FROM pg_roles WHERE rolname IN "
                             "('anon', 'authenticated', 'service_role') ORDER BY 1").fetchall()
        assert roles == [("anon", False, False), ("authenticated", False, False), ("service_role", False, True)]
    r = run_cli("supabase-shim", "--dsn", database.dsn)
    assert r.code == 0 and "already installed" in r.stdout


def test_shim_is_not_installed_where_auth_users_exists(database: Database) -> None:
    database.execute("CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY)")
    r = run_cli("supabase-shim", "--dsn", database.dsn)
    assert r.code == 0 and "not installed" in r.stdout
    assert database.scalar("SELECT to_regprocedure('auth.uid()') IS NULL")
    assert database.scalar("SELECT to_regnamespace('extensions') IS NULL")


# --- the Supabase CLI's history ---------------------------------------------------------------------


def _supabase_cli_applied(db: Database, m: MigrationDir, files: list[Path]) -> None:
    """What `supabase db push` leaves: the schema changes, and its history table with each version."""
    with db.connect() as conn:
        for stmt in CREATE_TABLE:
            conn.execute(stmt)
        for f in files:
            conn.execute(f.read_text())
            version, name = f.stem.split("_", 1)
            conn.execute("INSERT INTO supabase_migrations.schema_migrations (version, name, statements) "
                         "VALUES (%s, %s, %s)", (version, name, [f.read_text()]))


def test_import_supabase_history(database: Database, migrations: MigrationDir) -> None:
    a = migrations.add("create_todos", "CREATE TABLE todos (id int PRIMARY KEY);\n")
    b = migrations.add("todo_title", "ALTER TABLE todos ADD COLUMN title text;\n"
                       "-- ROLLBACK: ALTER TABLE todos DROP COLUMN title;\n")
    migrations.add("todo_done", "ALTER TABLE todos ADD COLUMN done boolean;\n")
    _supabase_cli_applied(database, migrations, [a, b])

    r = run_cli("supabase-status", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert "2 applied by the Supabase CLI only" in r.stdout

    r = run_cli("import-history", "--from", "supabase", "--dry-run", *_args(database, migrations))
    assert r.code == 0 and "would import 2 migrations" in r.stdout
    assert not database.exists("public._migrations"), "a dry run writes nothing"

    r = run_cli("import-history", "--from", "supabase", *_args(database, migrations))
    assert r.code == 0, r.stderr
    rows = database.query("SELECT name, baselined, rollback_kind, checksum = %s FROM public._migrations ORDER BY 1",
                          (checksum(a.read_text()),))
    assert rows == [(a.name, True, "manual", True), (b.name, True, "custom", False)]
    r = run_cli("import-history", "--from", "supabase", *_args(database, migrations))
    assert r.code == 0 and "imported 0 migrations" in r.stdout and "already in Tidemark's history" in r.stdout

    r = run_cli("migrate", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert "applied 1 migration" in r.stdout, "nothing the Supabase CLI ran runs again"
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'todos'") == 3


def test_import_refuses_a_version_with_no_file(database: Database, migrations: MigrationDir) -> None:
    a = migrations.add("create_todos", "CREATE TABLE todos (id int PRIMARY KEY);\n")
    _supabase_cli_applied(database, migrations, [a])
    database.execute("INSERT INTO supabase_migrations.schema_migrations (version, name) "
                     "VALUES ('20250101000000', 'lost')")
    r = run_cli("import-history", "--from", "supabase", *_args(database, migrations))
    assert r.code == 2
    assert "20250101000000_lost" in r.stderr and "nothing was imported" in r.stderr
    assert not database.exists("public._migrations")


def test_import_without_their_table_is_a_clear_error(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    r = run_cli("import-history", "--from", "supabase", *_args(database, migrations))
    assert r.code == 2 and "no supabase_migrations.schema_migrations" in r.stderr


def test_supabase_history_is_written_and_unwritten(database: Database, migrations: MigrationDir) -> None:
    migrations.add("create_todos", "CREATE TABLE todos (id int PRIMARY KEY);\n")
    migrations.add("todo_index", "CREATE INDEX CONCURRENTLY todos_id_idx ON todos (id);\n")
    r = run_cli("migrate", "--supabase-history", *_args(database, migrations))
    assert r.code == 0, r.stderr
    rows = database.query("SELECT version, name, statements FROM supabase_migrations.schema_migrations ORDER BY 1")
    assert [(v, n) for v, n, _ in rows] == [("20260101000001", "create_todos"), ("20260101000002", "todo_index")]
    assert [s.strip().rstrip(";") for s in rows[0][2]] == ["CREATE TABLE todos (id int PRIMARY KEY)"]
    r = run_cli("rollback", "1", "--supabase-history", *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT array_agg(version) FROM supabase_migrations.schema_migrations") == [
        "20260101000001"]


def test_supabase_history_guard_refuses_to_run_twice(database: Database, migrations: MigrationDir) -> None:
    a = migrations.add("create_todos", "CREATE TABLE IF NOT EXISTS todos (id int PRIMARY KEY);\n")
    migrations.add("todo_index", "CREATE INDEX CONCURRENTLY todos_id_idx ON todos (id);\n")
    _supabase_cli_applied(database, migrations, [a])
    r = run_cli("migrate", "--supabase-history", *_args(database, migrations))
    assert r.code == 1
    assert "import-history --from supabase" in r.stderr and a.name in r.stderr and "nothing ran" in r.stderr
    assert not database.exists("public._migrations") and not database.exists("public.todos_id_idx")


def test_supabase_history_guard_inside_the_transaction(database: Database, migrations: MigrationDir) -> None:
    """The second net: a row that appears after the check still stops the migration with its history row."""
    from app.core.connect import Target
    from app.core.options import Options
    from app.core.runner import MigrationRunner

    migrations.add("create_todos", "CREATE TABLE todos (id int PRIMARY KEY);\n"
                   "INSERT INTO supabase_migrations.schema_migrations (version) VALUES ('20260101000001');\n")
    with database.connect() as conn:
        for stmt in CREATE_TABLE:
            conn.execute(stmt)
    runner = MigrationRunner(Target(database.dsn, "--dsn"), migrations.path, Options(supabase_history=True))
    with pytest.raises(MigrationFailed, match="import-history"):
        runner.run_migrations()
    assert not database.exists("public.todos")
    assert database.scalar("SELECT count(*) FROM public._migrations") == 0, "rolled back with its history row"


def test_bundled_examples_run_on_the_shim_and_roll_back(supabase_db: Database) -> None:
    from app.paths import example_migrations_dir

    args = ["--dsn", supabase_db.dsn, "--migrations-dir", str(example_migrations_dir())]
    assert run_cli("supabase-shim", "--dsn", supabase_db.dsn).code == 0
    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    assert "applied 3 migrations" in r.stdout
    assert supabase_db.scalar("SELECT count(*) FROM pg_policies WHERE schemaname = 'public'") == 4
    r = run_cli("rollback", "3", *args)
    assert r.code == 0, r.stderr
    assert not supabase_db.exists("public.profiles") and not supabase_db.exists("public.user_preferences")
    assert supabase_db.exists("auth.users"), "the shim stays"


def test_a_shim_the_server_refuses_is_one_line_and_leaves_nothing(database: Database) -> None:
    """An auth.uid() of another type: CREATE OR REPLACE cannot change it, and the whole shim rolls back."""
    database.execute("CREATE SCHEMA auth; CREATE FUNCTION auth.uid() RETURNS text LANGUAGE sql AS 'SELECT 1::text'")
    r = run_cli("supabase-shim", "--dsn", database.dsn)
    assert r.code != 0 and "internal error" not in r.stderr
    assert "the Supabase shim was not installed" in r.stderr and "return type" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not database.exists("auth.users") and database.scalar("SELECT to_regnamespace('extensions') IS NULL")


def test_status_without_config_says_where_it_looked(database: Database, tmp_path: Path) -> None:
    """It said "no supabase/config.toml here", naming no folder."""
    folder = tmp_path / "proj\x1b[2J" / "migrations"
    folder.mkdir(parents=True)
    r = run_cli("supabase-status", "--dsn", database.dsn, "--migrations-dir", str(folder))
    assert r.code == 0, r.stderr
    shown = str(tmp_path / "proj\\x1b[2J")  # the folder's control characters written out, as everywhere
    line = r.stdout.splitlines()[0]
    assert line == (f"no supabase/config.toml: looked for {shown}/config.toml and "
                    f"{Path.cwd() / 'supabase' / 'config.toml'}"), line
    assert "\x1b" not in r.stdout
