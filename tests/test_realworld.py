"""Real-world-style migration sets (tests/realworld/) through the `tidemark` CLI, on every server.

The sets imitate what projects commit: a Supabase CLI project, a pg_dump --schema-only file as
the first migration, an app schema grown over twenty files (CRLF + BOM, unicode names, its own
BEGIN/COMMIT, CONCURRENTLY, enum ADD VALUE, partitions, custom rollbacks), and an existing
database that joins with `baseline`. Each is applied, checked, rolled back to a catalog equal to
the one before, and applied again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from app.core.catalog import CatalogSnapshot, diff, snapshot
from tests.conftest import Database, run_cli

SETS = Path(__file__).parent / "realworld"
HELPDESK = SETS / "helpdesk"
PGDUMP = SETS / "pgdump"
SUPABASE = SETS / "supabase"


def _args(db: Database, folder: Path) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(folder)]


def _catalog(db: Database) -> CatalogSnapshot:
    """The catalog without Tidemark's own history tables."""
    with db.connect() as conn:
        snap = snapshot(conn)
    return CatalogSnapshot({k: v for k, v in snap.objects.items() if "_migration" not in k})


def _status(db: Database, folder: Path) -> dict:
    r = run_cli("status", "--json", *_args(db, folder))
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def _applied_count(db: Database) -> int:
    return int(db.scalar("SELECT count(*) FROM public._migrations"))  # type: ignore[arg-type]


def test_set_files_keep_their_bytes() -> None:
    """The Windows file really has a BOM and CRLF, the unicode file really is UTF-8 (git kept them)."""
    raw = (HELPDESK / "20250311100000_windows_macros.sql").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert "übersetzungen" in (HELPDESK / "20250312100000_unicode.sql").read_text(encoding="utf-8")


def test_helpdesk_apply_roll_back_reapply(database: Database) -> None:
    args = _args(database, HELPDESK)
    r = run_cli("dry-run", *args)
    assert r.code == 0, r.stderr
    assert not database.exists("public._migrations"), "dry-run writes nothing"
    assert "runs OUTSIDE a transaction" in r.stdout and "CREATE INDEX CONCURRENTLY (line 3)" in r.stdout
    assert "the file's own BEGIN/COMMIT is replaced" in r.stdout
    assert "lock: ACCESS EXCLUSIVE on public.ticket_events (parent table)" in r.stdout

    r = run_cli("migrate", "--target", "20250306080000", *args)
    assert r.code == 0, r.stderr
    before = _catalog(database)

    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    doc = _status(database, HELPDESK)
    assert doc["health"] == "healthy" and doc["counts"]["applied"] == 21
    kinds = {m["name"]: m["rollback_kind"] for m in doc["migrations"]}
    assert kinds["20250302100000_seed_demo_account.sql"] == "custom"   # ROLLBACK BEGIN/END
    assert kinds["20250304121000_backfill_channel.sql"] == "custom"    # -- ROLLBACK:
    assert kinds["20250306080000_status_closed.sql"] == "manual"       # enum ADD VALUE
    assert kinds["20250305090000_widen_subject.sql"] == "generated"    # widening only
    assert kinds["20250310090000_own_transaction.sql"] == "generated"
    by_name = {m["name"]: m for m in doc["migrations"]}
    assert by_name["20250306070000_concurrent_index.sql"]["transactional"] is False
    assert by_name["20250312100000_unicode.sql"]["title"] == "Übersetzungen (translations)"
    assert by_name["20250311100000_windows_macros.sql"]["title"] == "Macros (saved on Windows)"

    # the data migrations ran, the rename and the generated column are there
    assert database.scalar("SELECT count(*) FROM accounts WHERE slug = 'demo'") == 1
    assert database.scalar("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'tickets'::regclass"
                           " AND attname = 'channel'") is True
    assert database.exists('public."übersetzungen"') and database.exists("public.tickets_requester_email_idx")
    assert database.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'ticket_events'::regclass") == 3
    assert database.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid ="
                           " 'agents'::regclass AND attname = 'display'") == "text"

    # past the manual migration: refused before anything runs, naming it and how to fix it
    r = run_cli("rollback", "12", *args)
    assert r.code == 2
    assert "20250306080000_status_closed.sql" in r.stderr and "-- ROLLBACK" in r.stderr
    assert _applied_count(database) == 21, "nothing was rolled back"

    r = run_cli("rollback-to", "20250306080000_status_closed", *args)
    assert r.code == 0, r.stderr
    assert _applied_count(database) == 12
    assert diff(before, _catalog(database)) == []

    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    assert run_cli("status", "--check", *args).code == 0


def test_helpdesk_history_report_and_edits(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "helpdesk"
    shutil.copytree(HELPDESK, folder)
    args = _args(database, folder)
    assert run_cli("migrate", *args).code == 0

    # a Windows checkout of an applied file is a warning, not a modification
    enum_file = folder / "20250301090500_ticket_status_enum.sql"
    enum_file.write_bytes(enum_file.read_bytes().replace(b"\n", b"\r\n"))
    doc = _status(database, folder)
    assert doc["health"] == "warning" and doc["counts"]["modified"] == 0
    assert any(m["line_endings_only"] for m in doc["migrations"])

    # a real edit: status says modified, migrate refuses, repair accepts with a reason
    tickets = folder / "20250301091000_create_tickets.sql"
    tickets.write_text(tickets.read_text(encoding="utf-8").replace("One customer request", "A customer request"),
                       encoding="utf-8")
    (folder / "20250316090000_macro_usage.sql").write_text(
        "ALTER TABLE macros ADD COLUMN used integer NOT NULL DEFAULT 0;\n", encoding="utf-8")
    doc = _status(database, folder)
    assert doc["health"] == "error" and doc["counts"]["modified"] == 1
    r = run_cli("migrate", *args)
    assert r.code == 1 and "20250301091000_create_tickets.sql" in r.stderr and "repair" in r.stderr
    assert not database.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'macros'::regclass"
                               " AND attname = 'used'")
    r = run_cli("repair", "20250301091000", "--reason", "comment wording", "--yes", *args)
    assert r.code == 0, r.stderr
    assert "-COMMENT ON TABLE tickets IS 'One customer request';" in r.stdout
    assert run_cli("migrate", *args).code == 0

    r = run_cli("history", "--json", *args)
    assert r.code == 0, r.stderr
    events = [e["event"] for e in json.loads(r.stdout)["events"]]
    assert events.count("applied") == 22 and "repaired" in events

    out = tmp_path / "report.html"
    r = run_cli("report", "--html", "--output", str(out), *args)
    assert r.code == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert "20250306080000_status_closed.sql" in html and "<script" not in html


def test_pgdump_schema_as_first_migration(database: Database) -> None:
    args = _args(database, PGDUMP)
    before = _catalog(database)
    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    # the dump's session settings (search_path '', check_function_bodies...) end with its file
    assert database.exists("public.invoice_notes")
    assert database.scalar("SELECT obj_description('billing.customers'::regclass, 'pg_class')") == "Paying customers"
    assert database.scalar("SELECT pg_get_serial_sequence('billing.invoices', 'id')") == "billing.invoices_id_seq"
    assert database.scalar("SELECT pg_get_serial_sequence('billing.customers', 'id')") == "billing.customers_id_seq"

    r = run_cli("rollback", "2", *args)
    assert r.code == 0, r.stderr
    assert diff(before, _catalog(database)) == []
    assert run_cli("migrate", *args).code == 0


def _install_supabase(db: Database) -> None:
    r = run_cli("supabase-shim", "--dsn", db.dsn)
    assert r.code == 0, r.stderr
    # Hosted projects have this publication; create it where the shim does not.
    db.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime')"
               " THEN CREATE PUBLICATION supabase_realtime; END IF; END $$")


def test_supabase_project(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "potluck"
    shutil.copytree(SUPABASE, project)
    monkeypatch.chdir(project)  # no --migrations-dir: supabase/migrations is found
    _install_supabase(database)
    with database.connect() as conn:
        has_uuid_ossp = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'uuid-ossp'"
                                     ).fetchone()[0] > 0
    dsn = ["--dsn", database.dsn]

    r = run_cli("supabase-status", *dsn)
    assert r.code == 0, r.stderr
    assert "potluck" in r.stdout and "20240315140000_rpc_functions.sql" in r.stdout

    if not has_uuid_ossp:
        # the embedded wheel has no uuid-ossp outside the sandbox: a clean failure, nothing left
        r = run_cli("migrate", *dsn)
        assert r.code == 1
        assert "20240305101500_extensions.sql:3" in r.stderr and 'extension "uuid-ossp" is not available' in r.stderr
        assert _applied_count(database) == 0
        assert _status(database, project / "supabase" / "migrations")["counts"]["failed"] == 1
        return

    before = _catalog(database)
    r = run_cli("migrate", *dsn)
    assert r.code == 0, r.stderr
    # the shim behaves as Supabase: sign-up makes a profile through the security definer trigger
    database.execute("INSERT INTO auth.users (id, email, raw_user_meta_data) VALUES "
                     "('00000000-0000-0000-0000-000000000001', 'ada@example.com', '{\"full_name\": \"Ada\"}')")
    assert database.scalar("SELECT full_name FROM public.profiles") == "Ada"
    with database.connect() as conn, conn.transaction():
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                     (json.dumps({"sub": "00000000-0000-0000-0000-000000000001", "role": "authenticated"}),))
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute("SELECT public.claim_username('ada')")
    assert database.scalar("SELECT username FROM public.profiles") == "ada"
    assert database.scalar("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'supabase_realtime'") == 1
    database.execute("DELETE FROM auth.users")

    r = run_cli("rollback", "6", *dsn)
    assert r.code == 0, r.stderr
    assert diff(before, _catalog(database)) == []
    assert not database.scalar("SELECT count(*) FROM pg_trigger WHERE tgname = 'on_auth_user_created'")
    assert run_cli("migrate", *dsn).code == 0
    assert run_cli("status", "--check", *dsn).code == 0


def test_existing_database_joins_with_baseline(database: Database) -> None:
    """Production was built by hand from the first files; Tidemark takes over from there."""
    files = sorted(HELPDESK.glob("*.sql"))[:3]
    for f in files:
        database.execute(f.read_text(encoding="utf-8"))
    database.execute("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme');"
                     "INSERT INTO tickets (account_id, subject, requester) SELECT id, 'hi', 'x@y.z' FROM accounts")
    args = _args(database, HELPDESK)

    r = run_cli("baseline", "20250301091000", *args)
    assert r.code == 0, r.stderr
    doc = _status(database, HELPDESK)
    base = [m for m in doc["migrations"] if m["baselined"]]
    assert [m["name"] for m in base] == [f.name for f in files]
    assert {m["rollback_kind"] for m in base} == {"manual"}

    r = run_cli("lint", *args)  # pending files on tables that exist and hold data
    assert r.code == 1
    assert "20250305080000_rename_requester.sql:2: error:" in r.stdout
    assert "20250304122000_channel_not_null.sql:3: error:" in r.stdout

    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    assert database.scalar("SELECT channel || ' ' || requester_email FROM tickets") == "email x@y.z"

    assert run_cli("rollback-to", "20250306080000", *args).code == 0
    r = run_cli("rollback-to", "20250301090000", *args)
    assert r.code == 2 and "baselined" in r.stderr
    assert _applied_count(database) == 12


BROKEN = {
    # file name -> (content, exit code, what stderr names)
    "20250401000000_syntax.sql": (b"CREATE TABLE y (id int);\nCREATE TABEL z (id int);\n", 2,
                                  ["20250401000000_syntax.sql:2:8", "TABEL"]),
    "20250401000000_psql_meta.sql": (b"\\restrict abc\nCREATE TABLE y (id int);\n", 2,
                                     ["20250401000000_psql_meta.sql:1:1", "psql meta-command"]),
    "20250401000000_runtime.sql": (b"CREATE TABLE y (id int);\nINSERT INTO y VALUES (1);\n"
                                   b"ALTER TABLE y\n  ADD COLUMN a bigint REFERENCES acounts (id);\n", 1,
                                   ["20250401000000_runtime.sql:3", 'relation "acounts" does not exist']),
    "20250401000000_column.sql": (b"CREATE TABLE y (id int);\nSELECT nosuch FROM y;\n", 1,
                                  ["20250401000000_column.sql:2:8", 'column "nosuch" does not exist']),
    "20250401000000_commit.sql": (b"CREATE TABLE y (id int);\nCOMMIT;\nCREATE TABLE z (id int);\n", 2,
                                  ["20250401000000_commit.sql:2", "COMMIT"]),
    "20250401000000_latin1.sql": (b"CREATE TABLE y (id int); -- caf\xe9\n", 2,
                                  ["20250401000000_latin1.sql", "UTF-8"]),
    "20250401000000_empty.sql": (b"", 2, ["20250401000000_empty.sql", "empty"]),
    "20250401000000_comments.sql": (b"-- Migration: placeholder\n-- nothing yet\n", 2,
                                    ["20250401000000_comments.sql", "only comments"]),
    "2025_04_01_misnamed.sql": (b"CREATE TABLE y (id int);\n", 2, ["2025_04_01_misnamed.sql", "YYYYMMDDHHMMSS"]),
    "V2__flyway_style.sql": (b"CREATE TABLE y (id int);\n", 2, ["V2__flyway_style.sql", "mixes layouts: flyway"]),
    "20250301090000_duplicate.sql": (b"CREATE TABLE y (id int);\n", 2, ["duplicate version 20250301090000"]),
}


def test_broken_files_change_nothing(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(HELPDESK / "20250301090000_create_accounts.sql", folder)
    args = _args(database, folder)
    assert run_cli("migrate", *args).code == 0
    before = _catalog(database)
    for name, (content, code, names) in BROKEN.items():
        f = folder / name
        f.write_bytes(content)
        r = run_cli("migrate", *args)
        f.unlink()
        assert r.code == code, (name, r.stderr)
        for n in names:
            assert n in r.stderr, (name, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout
        assert diff(before, _catalog(database)) == [], name
        assert _applied_count(database) == 1, name


def test_bad_connections_are_one_line(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    wrong = "wrong-" + database.name
    params = psycopg.conninfo.conninfo_to_dict(database.dsn)
    params["password"] = wrong
    for dsn in (psycopg.conninfo.make_conninfo(**params),
                f"postgresql://postgres:{wrong}@127.0.0.1:1/nothing",
                "postgresql://postgres@nonexistent.invalid/x"):
        r = run_cli("status", "--dsn", dsn, "--migrations-dir", str(folder))
        assert r.code == 2, r.stderr
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert wrong not in r.stderr + r.stdout


def test_bad_names_and_counts(database: Database) -> None:
    args = _args(database, HELPDESK)
    assert run_cli("migrate", "--target", "20250301091000", *args).code == 0
    for argv, words in ((["migrate", "--target", "20990101000000"], "unknown migration"),
                        (["rollback-to", "nosuch"], "unknown migration"),
                        (["rollback", "9"], "only 3 are applied"),
                        (["rollback", "0"], "1 or more")):
        r = run_cli(*argv, *args)
        assert r.code == 2 and words in r.stderr, (argv, r.stderr)
    assert _applied_count(database) == 3


def test_rollback_block_does_not_run_forward(database: Database, tmp_path: Path) -> None:
    """dbmate/golang-migrate users write the down part uncommented; it must not run on migrate."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20250101000000_keep.sql").write_text(
        "CREATE TABLE keep_me (id int);\n-- ROLLBACK BEGIN\nDROP TABLE keep_me;\n-- ROLLBACK END\n", encoding="utf-8")
    r = run_cli("migrate", *_args(database, folder))
    # either refused as bad input (nothing ran) or applied without running the block
    assert (r.code == 2 and _applied_count_or_none(database) in (None, 0)) or database.exists("public.keep_me")


def _applied_count_or_none(db: Database) -> int | None:
    return _applied_count(db) if db.exists("public._migrations") else None


def test_dry_run_into_a_closed_pipe_is_not_an_internal_error(database: Database) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "app.cli", "dry-run", *_args(database, HELPDESK)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `tidemark dry-run | head -0` does: every write then meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) != 70 and "internal error" not in err


def test_helpdesk_followups_roll_back_exactly(database: Database, tmp_path: Path) -> None:
    """A second release on the grown schema: replace, drop, rename, move, RLS, NOT VALID + VALIDATE."""
    folder = tmp_path / "helpdesk"
    shutil.copytree(HELPDESK, folder)
    for f in (SETS / "helpdesk_followups").glob("*.sql"):
        shutil.copy(f, folder)
    args = _args(database, folder)
    assert run_cli("migrate", "--target", "20250315100000", *args).code == 0
    before = _catalog(database)
    r = run_cli("migrate", *args)
    assert r.code == 0, r.stderr
    kinds = {m["name"]: m["rollback_kind"] for m in _status(database, folder)["migrations"]}
    assert kinds["20250401090000_replace_view.sql"] == "custom"
    assert {kinds[f.name] for f in (SETS / "helpdesk_followups").glob("*.sql")} <= {"custom", "generated"}
    assert database.exists("archive.ticket_events_default") and database.exists("public.canned_replies")
    assert database.scalar("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'tickets'::regclass") is True

    r = run_cli("rollback-to", "20250315100000", *args)
    assert r.code == 0, r.stderr
    assert diff(before, _catalog(database)) == []
    assert run_cli("migrate", *args).code == 0


# Statements DBAs run on live tables: Tidemark's dry-run must never show a weaker lock than
# PostgreSQL takes (a stronger one is only cautious).
_LOCK_SETUP = """
CREATE TABLE t (id int PRIMARY KEY, a int, b text);
CREATE TABLE parent (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE p1 (id int, at date);
CREATE TABLE p2 PARTITION OF parent FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();
CREATE INDEX t_a ON t (a);
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS x;
CREATE UNIQUE INDEX mv_x ON mv (x);
CREATE SCHEMA s2;
CREATE TABLE r (id int REFERENCES t (id));
CREATE POLICY pol ON t USING (true);
CREATE TABLE big (id int);
CREATE SEQUENCE sq;
"""
_LOCK_CASES = [
    "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500",
    "ALTER TABLE t SET (fillfactor = 70)",
    "ALTER TABLE t DISABLE TRIGGER tr",
    "ALTER TABLE t ADD CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES t (id) NOT VALID",
    "ALTER TABLE parent ATTACH PARTITION p1 FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
    "ALTER TABLE parent DETACH PARTITION p2",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "REFRESH MATERIALIZED VIEW mv",
    "ALTER INDEX t_a RENAME TO t_a2",
    "ALTER TABLE t RENAME TO t9",
    "ALTER TABLE t RENAME COLUMN b TO c",
    "DROP POLICY pol ON t",
    "ALTER TABLE t ALTER COLUMN b SET DEFAULT 'x'",
    "ALTER TABLE t ALTER COLUMN b SET NOT NULL",
    "ALTER TABLE t ADD COLUMN c int",
    "ALTER TABLE t OWNER TO CURRENT_USER",
    "ALTER SEQUENCE sq RESTART",
    "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE t REPLICA IDENTITY FULL",
    "CREATE INDEX t_b ON t (b)",
    "CREATE TRIGGER tr2 AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
    "COMMENT ON TABLE t IS 'x'",
    "DROP INDEX t_a",
    "DROP TABLE big",
    "TRUNCATE big",
    "UPDATE t SET a = 1",
    "CLUSTER t USING t_pkey",
    "LOCK TABLE t IN SHARE MODE",
    "DROP TRIGGER tr ON t",
    "ALTER TABLE big SET SCHEMA s2",
    "ALTER TABLE r DROP CONSTRAINT r_id_fkey",
    "CREATE INDEX ON parent (id)",
]
_PG_MODES = {"AccessShareLock": 1, "RowShareLock": 2, "RowExclusiveLock": 3, "ShareUpdateExclusiveLock": 4,
             "ShareLock": 5, "ShareRowExclusiveLock": 6, "ExclusiveLock": 7, "AccessExclusiveLock": 8}


@pytest.mark.parametrize("statement", _LOCK_CASES)
def test_dry_run_locks_are_never_weaker_than_postgres(database: Database, statement: str) -> None:
    from app.core.sql import parse_file
    from app.core.statement_locks import annotate_locks, catalog_locks

    stmts = parse_file(statement + ";\n", Path("x.sql"))
    annotate_locks(stmts, "public")
    taken: dict[str, int] = {}
    with database.connect() as conn:
        conn.execute(_LOCK_SETUP)
        catalog_locks(conn, stmts)  # as a dry run does, against the catalog before the statement
        shown: dict[str, int] = {}
        for lock in stmts[0].locks:
            shown[lock.relation] = max(shown.get(lock.relation, 0), int(lock.mode))
        # tables, views, sequences (indexes are locked with their table), named before the statement runs
        names = dict(conn.execute("SELECT c.oid, n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n"
                                  " ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 's2')"
                                  " AND c.relkind IN ('r', 'p', 'm', 'v', 'S')").fetchall())
        with conn.transaction():
            conn.execute(statement)
            for oid, mode in conn.execute("SELECT relation, mode FROM pg_locks WHERE pid = pg_backend_pid()"
                                          " AND locktype = 'relation' AND granted").fetchall():
                if oid in names:
                    taken[names[oid]] = max(taken.get(names[oid], 0), _PG_MODES[mode])
            raise psycopg.Rollback()
    # "ACCESS EXCLUSIVE on public.t_a (index, and its table)": the table is named by the note only
    its_table = max((int(lock.mode) for lock in stmts[0].locks if "its table" in lock.note), default=0)
    weaker = {rel: (mode, shown.get(rel, its_table)) for rel, mode in taken.items()
              if mode > 1 and shown.get(rel, its_table) < mode}
    assert not weaker, f"{statement}: PostgreSQL takes more than shown (relation: (taken, shown)): {weaker}"


def test_session_settings_end_with_their_file(database: Database, tmp_path: Path) -> None:
    """search_path, statement_timeout and set_config of one file do not reach the next one."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20250101000000_app_schema.sql").write_text(
        "CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE t1 (id int);\nSET statement_timeout = '1ms';\n"
        "SELECT pg_catalog.set_config('check_function_bodies', 'off', false);\n", encoding="utf-8")
    (folder / "20250101000001_next.sql").write_text(
        "CREATE TABLE t2 (id int);\nSELECT pg_sleep(0.05);\n", encoding="utf-8")
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stderr
    assert database.exists("app.t1") and database.exists("public.t2")


def test_copy_from_stdin_is_bad_input(database: Database, tmp_path: Path) -> None:
    """A pg_dump with data (COPY ... FROM stdin) is refused before anything runs, naming the line."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "20250101000000_dump_with_data.sql").write_bytes(
        b"CREATE TABLE c (id int, v text);\nCOPY public.c (id, v) FROM stdin;\n1\tone\n\\.\n")
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 2 and "20250101000000_dump_with_data.sql:3:1" in r.stderr, r.stderr
    assert not database.exists("public.c")


def test_set_role_ends_with_its_file(database: Database, tmp_path: Path) -> None:
    """`SET ROLE app_owner` so that objects belong to the app's owner: a common pattern."""
    role = "tm_owner_" + database.name
    database.execute(f"CREATE ROLE {role} NOLOGIN; GRANT CREATE ON SCHEMA public TO {role}")
    try:
        folder = tmp_path / "m"
        folder.mkdir()
        (folder / "20250101000000_owned.sql").write_text(
            f"SET ROLE {role};\nCREATE TABLE owned_by_app (id int);\n", encoding="utf-8")
        (folder / "20250101000001_next.sql").write_text("CREATE TABLE next_one (id int);\n", encoding="utf-8")
        r = run_cli("migrate", *_args(database, folder))
        owners = dict(database.query("SELECT tablename, tableowner FROM pg_tables"
                                     " WHERE tablename IN ('owned_by_app', 'next_one')"))
        assert r.code == 0, r.stderr
        assert owners == {"owned_by_app": role, "next_one": database.scalar("SELECT current_user")}
    finally:
        database.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
