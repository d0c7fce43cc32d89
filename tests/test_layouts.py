"""Other tools' projects read as they are (dbmate, goose, sql-migrate, golang-migrate, Prisma, Diesel),
migrated, shown and rolled back through their own down sections and files, against real servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from app.core.catalog import snapshot
from tests.conftest import Database, fresh_database, run_cli


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


# --- realistic projects, one per layout ---------------------------------------------------------------

DBMATE = {
    "20240105093000_create_users.sql": """-- migrate:up
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE users;
""",
    "20240106110000_add_users_name.sql": """-- migrate:up
ALTER TABLE users ADD COLUMN name text;
UPDATE users SET name = split_part(email, '@', 1);

-- migrate:down
ALTER TABLE users DROP COLUMN name;
""",
    "20240107120000_index_created_at.sql": """-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY users_created_at_idx ON users (created_at);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS users_created_at_idx;
""",
}

GOOSE = {  # unpadded numbers: 10 runs after 2 (as integers, not as text)
    "1_create_posts.sql": """-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, updated_at timestamptz);

-- +goose Down
DROP TABLE posts;
DROP FUNCTION touch_updated_at();
""",
    "2_posts_trigger.sql": """-- +goose Up
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- +goose Down
DROP TRIGGER posts_touch ON posts;
""",
    "10_posts_title_index.sql": """-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY posts_title_idx ON posts (title);

-- +goose Down
DROP INDEX IF EXISTS posts_title_idx;
""",
}

SQL_MIGRATE = {
    "1_accounts.sql": """-- +migrate Up
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL DEFAULT 0);

-- +migrate Down
DROP TABLE accounts;
""",
    "2_accounts_index.sql": """-- +migrate Up notransaction
CREATE INDEX CONCURRENTLY accounts_balance_idx ON accounts (balance);

-- +migrate Down
DROP INDEX IF EXISTS accounts_balance_idx;
""",
}

GOLANG_MIGRATE = {
    "1_create_orders.up.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL);\n",
    "1_create_orders.down.sql": "DROP TABLE IF EXISTS orders;\n",
    "2_order_items.up.sql": "CREATE TABLE order_items (order_id bigint REFERENCES orders, sku text);\n",
    "2_order_items.down.sql": "DROP TABLE IF EXISTS order_items;\n",
    "10_order_items_qty.up.sql": "ALTER TABLE order_items ADD COLUMN qty int NOT NULL DEFAULT 1;\n",
    "10_order_items_qty.down.sql": "ALTER TABLE order_items DROP COLUMN qty;\n",
}

PRISMA = {  # as `prisma migrate dev` writes them; Prisma writes no down migration
    "migration_lock.toml": 'provider = "postgresql"\n',
    "20240110080000_init/migration.sql": """-- CreateTable
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
""",
    "20240111090000_add_post/migration.sql": """-- CreateTable
CREATE TABLE "Post" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "authorId" INTEGER NOT NULL,

    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")
);

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId")
  REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
""",
}

SETUP = "00000000000000_diesel_initial_setup"
DIESEL = {  # the first folder is the one `diesel setup` writes
    f"{SETUP}/up.sql": """-- This file was automatically created by Diesel to setup helper functions
-- and other internal bookkeeping. This file is safe to edit, any future
-- changes will be added to existing projects as new migrations.

CREATE OR REPLACE FUNCTION diesel_manage_updated_at(_tbl regclass) RETURNS VOID AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s
                    FOR EACH ROW EXECUTE PROCEDURE diesel_set_updated_at()', _tbl);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION diesel_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF (
        NEW IS DISTINCT FROM OLD AND
        NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
    ) THEN
        NEW.updated_at := current_timestamp;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""",
    f"{SETUP}/down.sql": """-- This file was automatically created by Diesel to setup helper functions
-- and other internal bookkeeping. This file is safe to edit, any future
-- changes will be added to existing projects as new migrations.

DROP FUNCTION IF EXISTS diesel_manage_updated_at(_tbl regclass);
DROP FUNCTION IF EXISTS diesel_set_updated_at();
""",
    "2024-01-15-101500_create_books/up.sql": """CREATE TABLE books (
  id SERIAL PRIMARY KEY,
  title VARCHAR NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT NOW()
);
SELECT diesel_manage_updated_at('books');
""",
    "2024-01-15-101500_create_books/down.sql": "DROP TABLE books;\n",
    "2024-01-16-090000_books_title_index/up.sql": "CREATE INDEX CONCURRENTLY books_title_idx ON books (title);\n",
    "2024-01-16-090000_books_title_index/down.sql": "DROP INDEX IF EXISTS books_title_idx;\n",
    "2024-01-16-090000_books_title_index/metadata.toml": "run_in_transaction = false\n",
}

FLYWAY = {  # 1.10 after 1.9; Flyway reads subfolders of its location too
    "V1__create_customers.sql": "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n",
    "U1__create_customers.sql": "DROP TABLE customers;\n",
    "V1.9__customers_email.sql": "ALTER TABLE customers ADD COLUMN email text;\n",
    "U1.9__customers_email.sql": "ALTER TABLE customers DROP COLUMN email;\n",
    "V1.10__customers_email_index.sql": "CREATE INDEX CONCURRENTLY customers_email_idx ON customers (email);\n",
    "V1.10__customers_email_index.sql.conf": "executeInTransaction=false\n",
    "U1.10__customers_email_index.sql": "DROP INDEX IF EXISTS customers_email_idx;\n",
    "release_2/V2__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers);"
                                "\n",
    "release_2/U2__orders.sql": "DROP TABLE orders;\n",
}

SQITCH = {  # the flipr project of Sqitch's own tutorial (sqitchers/sqitch-intro)
    "sqitch.plan": """%syntax-version=1.0.0
%project=flipr
%uri=https://github.com/sqitchers/sqitch-intro/

appschema 2013-12-30T23:19:37Z Marge N. O'Vera <marge@example.com> # Add schema for all flipr objects.
users [appschema] 2013-12-31T00:12:25Z Marge N. O'Vera <marge@example.com> # Creates table to track our users.
insert_user [users appschema] 2013-12-31T00:26:29Z Marge N. O'Vera <marge@example.com> # Creates a function.
@v1.0.0-dev1 2013-12-31T00:40:42Z Marge N. O'Vera <marge@example.com> # Tag v1.0.0-dev1.
""",
    "sqitch.conf": "[core]\n\tengine = pg\n",
    "deploy/appschema.sql": "-- Deploy flipr:appschema to pg\n\nBEGIN;\n\nCREATE SCHEMA flipr;\n\nCOMMIT;\n",
    "revert/appschema.sql": "-- Revert flipr:appschema from pg\n\nBEGIN;\n\nDROP SCHEMA flipr;\n\nCOMMIT;\n",
    "verify/appschema.sql": "-- Verify flipr:appschema on pg\n\n"
                            "SELECT pg_catalog.has_schema_privilege('flipr', 'usage');\n",
    "deploy/users.sql": """-- Deploy flipr:users to pg
-- requires: appschema

BEGIN;

CREATE TABLE flipr.users (
    nickname  TEXT        PRIMARY KEY,
    password  TEXT        NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

COMMIT;
""",
    "revert/users.sql": "-- Revert flipr:users from pg\n\nBEGIN;\n\nDROP TABLE flipr.users;\n\nCOMMIT;\n",
    "deploy/insert_user.sql": """-- Deploy flipr:insert_user to pg
-- requires: users
-- requires: appschema

BEGIN;

CREATE OR REPLACE FUNCTION flipr.insert_user(
    nickname TEXT,
    password TEXT
) RETURNS VOID LANGUAGE SQL SECURITY DEFINER AS $$
    INSERT INTO flipr.users VALUES($1, md5($2));
$$;

COMMIT;
""",
    "revert/insert_user.sql": "-- Revert flipr:insert_user from pg\n\nBEGIN;\n\n"
                              "DROP FUNCTION flipr.insert_user(TEXT, TEXT);\n\nCOMMIT;\n",
}

# layout -> (files, objects that exist once migrated, names in history in order)
PROJECTS: dict[str, tuple[dict[str, str], list[str], list[str]]] = {
    "dbmate": (DBMATE, ["public.users", "public.users_created_at_idx"], list(DBMATE)),
    "goose": (GOOSE, ["public.posts", "public.posts_title_idx"],
              ["1_create_posts.sql", "2_posts_trigger.sql", "10_posts_title_index.sql"]),
    "sql-migrate": (SQL_MIGRATE, ["public.accounts", "public.accounts_balance_idx"], list(SQL_MIGRATE)),
    "golang-migrate": (GOLANG_MIGRATE, ["public.orders", "public.order_items"],
                       ["1_create_orders.up.sql", "2_order_items.up.sql", "10_order_items_qty.up.sql"]),
    "prisma": (PRISMA, ['public."User"', 'public."Post"'], ["20240110080000_init", "20240111090000_add_post"]),
    "diesel": (DIESEL, ["public.books", "public.books_title_idx"],
               ["00000000000000_diesel_initial_setup", "2024-01-15-101500_create_books",
                "2024-01-16-090000_books_title_index"]),
    "flyway": (FLYWAY, ["public.customers", "public.customers_email_idx", "public.orders"],
               ["V1__create_customers.sql", "V1.9__customers_email.sql", "V1.10__customers_email_index.sql",
                "V2__orders.sql"]),
    "sqitch": (SQITCH, ["flipr.users"], ["appschema", "users", "insert_user"]),
}
# layout -> the migration its no-transaction option is on
NO_TRANSACTION = {"dbmate": -1, "goose": -1, "sql-migrate": -1, "diesel": -1, "flyway": 2}


def _args(db: Database, folder: Path) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(folder)]


def _history(db: Database) -> list[tuple]:
    if not db.exists("public._migrations"):
        return []
    return db.query("SELECT name, version, rollback_kind, transactional FROM public._migrations ORDER BY id")


@pytest.mark.parametrize("layout", list(PROJECTS))
def test_layout_migrate_status_rollback(layout: str, database: Database, tmp_path: Path) -> None:
    files, objects, names = PROJECTS[layout]
    folder = _write(tmp_path / "migrations", files)
    args = _args(database, folder)

    r = run_cli("status", *args, "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["layout"], doc["layout_declared_in"]) == (layout, None)
    assert [m["name"] for m in doc["migrations"]] == names, "sorted by the tool's own rule"
    assert doc["counts"]["pending"] == len(names)

    r = run_cli("dry-run", *args)
    assert r.code == 0, r.stderr
    assert f"layout: {layout} (detected)" in r.stdout
    plan = json.loads(run_cli("dry-run", *args, "--json").stdout)
    assert (plan["layout"], plan["layout_declared_in"]) == (layout, None)
    forward = [st["text"] for m in plan["planned"] for st in m["statements"]]
    assert forward and not any("DROP" in t for t in forward), "no down section or file runs forward"
    if layout != "prisma":
        assert all(m["rollback_kind"] == "custom" and "DROP" in m["rollback_sql"] for m in plan["planned"])

    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    for obj in objects:  # a down section run forward would have dropped them again
        assert database.scalar("SELECT to_regclass(%s)::text", (obj,)) is not None, obj
    rows = _history(database)
    assert [n for n, *_ in rows] == names
    expect_kind = "generated" if layout == "prisma" else "custom"
    assert {k for _, _, k, _ in rows} == {expect_kind}
    if layout in NO_TRANSACTION:
        assert [t for *_, t in rows].count(False) == 1, "the tool's no-transaction option is honoured"
        assert rows[NO_TRANSACTION[layout]][3] is False

    r = run_cli("status", *args)
    assert r.code == 0 and f"layout: {layout} (detected)" in r.stdout, r.stdout
    assert json.loads(run_cli("status", *args, "--json").stdout)["health"] == "healthy"

    r = run_cli("rollback", str(len(names)), *args)
    assert r.code == 0, r.stderr
    for obj in objects:
        assert database.scalar("SELECT to_regclass(%s)::text", (obj,)) is None, obj
    assert database.scalar("SELECT count(*) FROM public._migrations") == 0
    assert database.scalar("SELECT count(*) FROM public._migration_rollbacks") == len(names)


def test_down_section_is_the_stored_rollback(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", DBMATE)
    assert run_cli("migrate", *_args(database, folder)).code == 0
    stored = database.scalar("SELECT rollback_sql FROM public._migrations WHERE name = %s",
                             ("20240106110000_add_users_name.sql",))
    assert stored == "ALTER TABLE users DROP COLUMN name;"
    applied = database.scalar("SELECT applied_sql FROM public._migrations WHERE name = %s",
                              ("20240106110000_add_users_name.sql",))
    assert "-- migrate:down" in applied, "history keeps the file as written"
    r = run_cli("rollback-to", "20240105093000", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 1


def test_golang_migrate_versions_are_numbers(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", GOLANG_MIGRATE)
    r = run_cli("migrate", *_args(database, folder), "--target", "2")
    assert r.code == 0, r.stderr
    assert [n for n, *_ in _history(database)] == ["1_create_orders.up.sql", "2_order_items.up.sql"]
    assert [v for _, v, *_ in _history(database)] == ["1", "2"], "history keeps the version text"
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    r = run_cli("rollback-to", "1", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert not database.exists("public.order_items") and database.exists("public.orders")


def test_declared_in_tidemark_toml(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "db" / "migration", DBMATE)
    (tmp_path / "tidemark.toml").write_text('layout = "dbmate"\nmigrations = "db/migration"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = run_cli("status", "--dsn", database.dsn, "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["layout"], doc["layout_declared_in"]) == ("dbmate", str(tmp_path / "tidemark.toml"))
    text = run_cli("status", "--dsn", database.dsn).stdout
    assert f"layout: dbmate (declared in {tmp_path / 'tidemark.toml'})" in text
    assert doc["migrations_dir"] == str(tmp_path / "db" / "migration")
    assert run_cli("migrate", "--dsn", database.dsn).code == 0
    assert database.exists("public.users")


def test_missing_down_file_generates_or_is_manual(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "1_t.up.sql": "CREATE TABLE t (id int, note text);\n",
        "2_drop_note.up.sql": "ALTER TABLE t DROP COLUMN note;\n",  # no down file, and it loses data
    })
    assert run_cli("migrate", *_args(database, folder)).code == 0
    kinds = [k for _, _, k, _ in _history(database)]
    assert kinds == ["generated", "manual"]
    r = run_cli("rollback", "1", *_args(database, folder))
    assert r.code == 2, r.stdout + r.stderr
    assert "no rollback SQL is known for 2_drop_note.up.sql" in r.stderr
    assert "Traceback" not in r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 2, "nothing changed"


# --- bad input: exit 2, one line naming the files, nothing changed ----------------------------------------

def _refused(db: Database, folder: Path, *needles: str) -> str:
    for command in ("status", "migrate", "dry-run"):
        r = run_cli(command, *_args(db, folder))
        assert r.code == 2, (command, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr
        for needle in needles:
            assert needle in r.stderr, (command, needle, r.stderr)
    assert not db.exists("public._migrations"), "nothing changed"
    assert db.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    return r.stderr


def test_mixed_layouts_name_an_example_of_each(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {**DBMATE, **GOOSE})
    err = _refused(database, folder, "mixes layouts", "dbmate (20240105093000_create_users.sql:1)",
                   "goose (10_posts_title_index.sql:1)")
    assert 'layout = "..."' in err


def test_native_file_beside_golang_migrate_is_mixed(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {**GOLANG_MIGRATE,
                                              "20260101000001_users.sql": "CREATE TABLE u (id int);\n"})
    _refused(database, folder, "mixes layouts", "golang-migrate (10_order_items_qty.down.sql)",
             "tidemark (20260101000001_users.sql)")


def test_marker_in_a_layout_without_markers(database: Database, tmp_path: Path) -> None:
    (tmp_path / "tidemark.toml").write_text('layout = "tidemark"\n', encoding="utf-8")
    folder = _write(tmp_path / "migrations", {
        "20260101000001_users.sql": "CREATE TABLE users (id int);\n",
        "20260101000002_dbmate_style.sql": "-- a dbmate file\n-- migrate:up\nCREATE TABLE t (id int);\n"
                                           "-- migrate:down\nDROP TABLE t;\n",
    })
    _refused(database, folder, f"{folder / '20260101000002_dbmate_style.sql'}:2: has a dbmate section marker",
             'declare layout = "dbmate" in tidemark.toml')


def test_goose_marker_in_a_golang_migrate_file(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "1_a.up.sql": "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n",
        "1_a.down.sql": "DROP TABLE a;\n",
    })
    _refused(database, folder, f"{folder / '1_a.up.sql'}:1: has a goose section marker", 'layout = "goose"')


def test_dbmate_file_without_up_marker(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {**DBMATE, "20240108000000_plain.sql": "CREATE TABLE p (id int);\n"})
    _refused(database, folder, "20240108000000_plain.sql: has no '-- migrate:up' marker")


def test_sql_outside_the_sections(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {"20240101000000_x.sql": "CREATE TABLE x (id int);\n-- migrate:up\n"
                                              "CREATE TABLE y (id int);\n-- migrate:down\nDROP TABLE y;\n"})
    _refused(database, folder, "20240101000000_x.sql:1: has SQL before its '-- migrate:up' marker")


def test_unplaceable_files_and_folders(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        **PRISMA,
        "seed.sql": "INSERT INTO \"User\" (email) VALUES ('a@b');\n",
        "20240112000000_half_done/notes.txt": "nothing here yet\n",
    })
    _refused(database, folder, "2 problems", "seed.sql: cannot be placed in the prisma layout",
             "20240112000000_half_done: holds no migration.sql")


def test_down_file_without_up_file(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {**GOLANG_MIGRATE, "3_gone.down.sql": "DROP TABLE gone;\n"})
    _refused(database, folder, "3_gone.down.sql: cannot be placed in the golang-migrate layout",
             "3_gone.up.sql")


def test_prisma_folder_in_a_flat_layout(database: Database, tmp_path: Path) -> None:
    (tmp_path / "tidemark.toml").write_text('layout = "tidemark"\n', encoding="utf-8")
    folder = _write(tmp_path / "migrations", {"20260101000001_a.sql": "CREATE TABLE a (id int);\n",
                                              "20240110080000_init/migration.sql": "CREATE TABLE b (id int);\n"})
    _refused(database, folder, "20240110080000_init: cannot be placed in the tidemark layout")


def test_duplicate_version_names_both_files(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {"1_a.up.sql": "CREATE TABLE a (id int);\n",
                                              "001_b.up.sql": "CREATE TABLE b (id int);\n"})
    _refused(database, folder, "duplicate version", "1_a.up.sql", "001_b.up.sql")


def test_unknown_layout_in_tidemark_toml(database: Database, tmp_path: Path) -> None:
    (tmp_path / "tidemark.toml").write_text('layout = "liquibase"\n', encoding="utf-8")
    folder = _write(tmp_path / "migrations", DBMATE)
    _refused(database, folder, "tidemark.toml: unknown layout 'liquibase'", "dbmate")


# --- dbmate itself reads the files the way we do ----------------------------------------------------------

def _dbmate() -> str | None:
    return os.environ.get("TIDEMARK_TEST_DBMATE") or shutil.which("dbmate")


@pytest.mark.skipif(_dbmate() is None, reason="dbmate not installed (npm install dbmate; TIDEMARK_TEST_DBMATE=path)")
def test_dbmate_and_tidemark_build_the_same_schema(database: Database, pg_server, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", DBMATE)
    with fresh_database(pg_server) as theirs:
        url = _url(theirs.dsn)
        run = subprocess.run([_dbmate(), "--url", url, "--migrations-dir", str(folder), "--no-dump-schema", "up"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run_cli("migrate", *_args(database, folder)).code == 0
        assert _schema(theirs) == _schema(database)
        run = subprocess.run([_dbmate(), "--url", url, "--migrations-dir", str(folder), "--no-dump-schema",
                              "rollback"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run_cli("rollback", "1", *_args(database, folder)).code == 0
        assert _schema(theirs) == _schema(database)


def _url(dsn: str) -> str:
    """The test server's key=value DSN as the URL dbmate wants (a socket folder as ?socket=)."""
    from urllib.parse import quote

    p = psycopg.conninfo.conninfo_to_dict(dsn)
    auth = quote(str(p.get("user", ""))) + (":" + quote(str(p["password"])) if p.get("password") else "")
    host = str(p.get("host", "localhost"))
    query = "sslmode=disable"
    if host.startswith("/"):
        query += "&socket=" + quote(host)
        host = ""
    return f"postgres://{auth}@{host}:{p.get('port', 5432)}/{p['dbname']}?{query}"


def _schema(db: Database) -> dict[str, str]:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        objects = snapshot(conn, ["public"]).objects
    skip: Callable[[str], bool] = lambda k: "schema_migrations" in k or "_migration" in k  # noqa: E731
    return {k: v for k, v in objects.items() if not skip(k)}


def test_baseline_of_a_database_the_other_tool_migrated(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", GOOSE)
    database.execute(  # what goose applied before the switch: the first two migrations' up sections
        "CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); "
        "RETURN NEW; END; $$; CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, updated_at timestamptz);"
        "CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch_updated_at();")
    r = run_cli("baseline", "2", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert [(n, k) for n, _, k, _ in _history(database)] == [("1_create_posts.sql", "custom"),
                                                              ("2_posts_trigger.sql", "custom")]
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert [n for n, *_ in _history(database)][-1] == "10_posts_title_index.sql"
    assert run_cli("rollback", "3", *_args(database, folder)).code == 0  # through the stored down sections
    assert not database.exists("public.posts")


def test_lint_reads_only_the_up_section(tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {"20240101000000_x.sql": """-- migrate:up
ALTER TABLE users DROP COLUMN legacy;

-- migrate:down
ALTER TABLE users ADD COLUMN legacy text;
DROP TABLE users;
"""})
    r = run_cli("lint", "--all", "--migrations-dir", str(folder), "--json")
    assert r.code == 0, r.stderr
    found = [(f["line"], f["rule"]) for f in json.loads(r.stdout)["findings"]]
    assert (2, "drop-column") in found
    assert all(line < 4 for line, _ in found), f"the down section is not linted: {found}"


@pytest.mark.parametrize(("name", "text", "needle"), [
    ("V3_single_underscore.sql", "CREATE TABLE t (id int);\n", "V3_single_underscore.sql: has one underscore"),
    ("R__.sql", "CREATE OR REPLACE VIEW v AS SELECT 1;\n", "is a Flyway repeatable migration without a description"),
    ("U7__orphan.sql", "DROP TABLE t;\n", "U7__orphan.sql: cannot be placed in the flyway layout"),
    ("V1.0__again.sql", "CREATE TABLE t (id int);\n", "duplicate version 1 (also V1.0__again.sql)"),
])
def test_flyway_refusals(name: str, text: str, needle: str, database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {**FLYWAY, name: text})
    _refused(database, folder, needle)


def test_rehearse_checks_the_down_files(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {
        "1_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
        "1_users.down.sql": "DROP TABLE users;\n",
        "2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email_idx ON users (email);\n",
        "2_email.down.sql": "DROP INDEX users_email_idx;\n",  # forgets the column
    })
    r = run_cli("rehearse", *_args(database, folder))
    assert r.code == 1, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "] 2_email.up.sql" in ln)
    assert "DOES NOT RESTORE" in line
    assert "email" in r.stdout.split("] 2_email.up.sql", 1)[1]
    line = next(ln for ln in r.stdout.splitlines() if "] 1_users.up.sql" in ln)
    assert "rollback verified" in line
    assert not database.exists("public._migrations"), "the rehearsal ran on a copy"


def test_missing_file_row_gets_a_title_from_its_name(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", dict(list(GOLANG_MIGRATE.items())[:4]))
    assert run_cli("migrate", *_args(database, folder)).code == 0
    database.execute("UPDATE public._migrations SET title = NULL")
    (folder / "1_create_orders.up.sql").unlink()
    (folder / "1_create_orders.down.sql").unlink()  # alone it would be refused: a down file without its up
    doc = json.loads(run_cli("status", *_args(database, folder), "--json").stdout)
    assert [(m["state"], m["title"]) for m in doc["migrations"]] == [("missing", "create orders"),
                                                                      ("applied", "order items")]


def test_sqitch_titles_are_the_plan_notes(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", SQITCH)
    doc = json.loads(run_cli("status", *_args(database, folder), "--json").stdout)
    assert [(m["version"], m["title"]) for m in doc["migrations"]][:2] == [
        ("1", "Add schema for all flipr objects."), ("2", "Creates table to track our users.")]
    assert run_cli("migrate", *_args(database, folder)).code == 0
    database.execute("SELECT flipr.insert_user('marge', 'secret')")
    assert run_cli("rollback-to", "appschema", *_args(database, folder)).code == 0
    assert not database.exists("flipr.users") and database.scalar(
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'flipr'") == 1


_PLAN_HEAD = "%syntax-version=1.0.0\n%project=flipr\n\n"
_AT = " 2013-12-31T00:12:25Z Marge <marge@example.com> # note\n"


@pytest.mark.parametrize(("changes", "scripts", "needle"), [
    (["appschema", "users [appschema]"], ["appschema"], "sqitch.plan:5: plans change users, but "),
    (["users [appschema]", "appschema"], ["appschema", "users"],
     "sqitch.plan:4: change users requires appschema, which is not planned before it"),
    (["appschema", "appschema"], ["appschema"],
     "sqitch.plan:5: change appschema is planned again (first on line 4) with no tag in between"),
    (["appschema", "@v1", "appschema [appschema@v1]"], ["appschema"],
     "sqitch.plan:4: plans change appschema, but "),  # reworked, but deploy/appschema@v1.sql is gone
    (["appschema"], ["appschema", "stray"], "stray.sql: is not a change of"),
])
def test_sqitch_refusals(changes: list[str], scripts: list[str], needle: str, database: Database,
                         tmp_path: Path) -> None:
    files = {"sqitch.plan": _PLAN_HEAD + "".join(c + _AT for c in changes)}
    files |= {f"deploy/{n}.sql": f"CREATE TABLE {n} (id int);\n" for n in scripts}
    folder = _write(tmp_path / "migrations", files)
    _refused(database, folder, needle)


def test_other_subfolders_of_a_native_folder_stay_unread(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", {"20260101000001_a.sql": "CREATE TABLE a (id int);\n",
                                              "2024_archive/20240101000000_old.sql": "CREATE TABLE old (id int);\n",
                                              "seeds/users.sql": "INSERT INTO a VALUES (1);\n"})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert [n for n, *_ in _history(database)] == ["20260101000001_a.sql"]


def test_version_order_is_each_tools_rule() -> None:
    from app.core.files import version_key

    native = ["20260101000002", "20251231235959", "20260101000010"]
    assert sorted(native, key=version_key) == sorted(native), "our 14 digits sort as before"
    assert sorted(["10", "2", "1", "0003"], key=version_key) == ["1", "2", "0003", "10"]
    assert sorted(["1.10", "1.9", "1_8", "2", "1"], key=version_key) == ["1", "1_8", "1.9", "1.10", "2"]
    assert version_key("1.0") == version_key("1") and version_key("001") == version_key("1")


@pytest.mark.parametrize(("toml", "needle"), [
    ('layout = "dbmate\n', "tidemark.toml: not valid TOML"),
    ("layout = 3\n", 'tidemark.toml: layout must be a string, e.g. layout = "dbmate"'),
    ('layuot = "dbmate"\n',
     "tidemark.toml: unknown setting 'layuot' (known: layout, migrations, placeholders, verify, notifications, "
     "schema_file)"),
    ('verify = "no"\n', "tidemark.toml: verify must be true or false, e.g. verify = false"),
])
def test_bad_tidemark_toml(toml: str, needle: str, database: Database, tmp_path: Path) -> None:
    (tmp_path / "tidemark.toml").write_text(toml, encoding="utf-8")
    folder = _write(tmp_path / "migrations", DBMATE)
    _refused(database, folder, needle)
