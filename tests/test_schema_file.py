"""`migrate --dump-schema FILE`: deterministic, without history or environment, and it loads back."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.core import catalog
from app.core.pg_binaries import embedded_binaries
from tests.conftest import Database, MigrationDir, fresh_database, run_cli

SCHEMA = [
    ("types", "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE SEQUENCE invoice_no START 1000;\n"),
    ("users", "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,\n"
              "  mood mood DEFAULT 'ok', invoice int DEFAULT nextval('invoice_no'));\n"
              "COMMENT ON TABLE users IS 'who logs in';\n"
              "CREATE UNIQUE INDEX users_email_idx ON users (lower(email));\n"),
    ("views", "CREATE FUNCTION who(u users) RETURNS text LANGUAGE sql AS $$ SELECT u.email $$;\n"
              "CREATE VIEW sad_users AS SELECT id, email FROM users WHERE mood = 'sad';\n"),
]


def _stamped(text: str) -> str:
    """The schema file, which must not carry a server's own per-database column stamp (Debian's
    PostgreSQL 15.20 gives columns `pg_attver=N`; the schema file leaves it out)."""
    assert "pg_attver" not in text
    return text


def _migrated(db: Database, m: MigrationDir, out: Path, *extra: str) -> str:
    r = run_cli("migrate", "--dsn", db.dsn, "--migrations-dir", str(m.path), "--dump-schema", str(out), *extra)
    assert r.code == 0, r.stdout + r.stderr
    assert f"schema written to {out}" in r.stdout
    return out.read_text(encoding="utf-8")


def test_schema_file_is_deterministic_clean_and_loads_back(database: Database, migrations: MigrationDir,
                                                           tmp_path: Path) -> None:
    for slug, text in SCHEMA:
        migrations.add(slug, text)
    database.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tm_reader') "
                     "THEN CREATE ROLE tm_reader NOLOGIN; END IF; END $$;")
    first = _migrated(database, migrations, tmp_path / "schema.sql")
    assert "CREATE TABLE public.users" in first and "CREATE VIEW public.sad_users" in first
    assert "_migration" not in first, "no history tables, rows or sequences"
    for changing in ("OWNER TO", "GRANT ", "Dumped from", "Dumped by", "\\restrict", "\\unrestrict"):
        assert changing not in first
    # nothing to migrate the second time: the same bytes; and another database of the same files too
    assert _migrated(database, migrations, tmp_path / "again.sql") == first
    with fresh_database(database.server) as other:
        assert _stamped(_migrated(other, migrations, tmp_path / "other.sql")) == _stamped(first)

    with fresh_database(database.server) as empty:
        psql = embedded_binaries().tool("psql")
        proc = subprocess.run([str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(tmp_path / "schema.sql"),
                               "-d", empty.dsn], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        with database.connect() as a, empty.connect() as b:
            assert catalog.diff(catalog.snapshot(a), catalog.snapshot(b)) == []

    database.execute("GRANT SELECT ON users TO tm_reader;")
    kept = _migrated(database, migrations, tmp_path / "grants.sql", "--dump-schema-privileges")
    assert "GRANT SELECT ON TABLE public.users TO tm_reader;" in kept and "OWNER TO" not in kept


def test_schema_file_misuse_is_a_usage_error(database: Database, migrations: MigrationDir, tmp_path: Path) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    base = ["migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path)]
    for extra in (["--dump-schema", str(tmp_path / "s.sql"), "--dry-run"], ["--dump-schema-owners"],
                  ["--dump-schema", str(tmp_path / "missing" / "s.sql")]):
        r = run_cli(*base, *extra)
        assert r.code == 2 and r.stderr.startswith("error: "), r.stderr
    assert not database.exists("public.t") and not database.exists("public._migrations")


def test_schema_file_named_in_tidemark_toml(database: Database, migrations: MigrationDir, tmp_path: Path) -> None:
    """`schema_file` in tidemark.toml writes the same file after every migrate, without the option;
    the option wins; a path that cannot be written is bad input before anything runs."""
    for slug, text in SCHEMA:
        migrations.add(slug, text)
    toml = migrations.path.parent / "tidemark.toml"
    toml.write_text('schema_file = "db/schema.sql"\n', encoding="utf-8")
    (migrations.path.parent / "db").mkdir(exist_ok=True)
    r = run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 0, r.stdout + r.stderr
    written = migrations.path.parent / "db" / "schema.sql"
    assert f"schema written to {written}" in r.stdout
    assert written.read_text(encoding="utf-8") == _migrated(database, migrations, tmp_path / "given.sql")

    toml.write_text('schema_file = "no/such/folder/schema.sql"\n', encoding="utf-8")
    migrations.add("more", "CREATE TABLE more (id int);\n")
    r = run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 2 and "no/such/folder" in r.stderr, r.stdout + r.stderr
    assert not database.exists("public.more"), "nothing ran"
    toml.write_text("schema_file = 3\n", encoding="utf-8")
    r = run_cli("status", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 2 and 'schema_file must be a string, e.g. schema_file = "db/schema.sql"' in r.stderr
