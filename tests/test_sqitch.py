"""Sqitch projects: verify scripts run after each deploy (and by rehearse), reworked changes read as one
migration per plan entry, and a reworked project that real Sqitch deployed imported and continued."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Database, run_cli
from tests.test_import_history import NEEDS_SQITCH, _sqitch
from tests.test_layouts import SQITCH, _write

_BAD_VERIFY = ("-- Verify flipr:users on pg\n\nBEGIN;\n\nSELECT nickname, password, timestamp\n"
               "  FROM flipr.users\n WHERE FALSE;\nSELECT nosuchcolumn FROM flipr.users WHERE FALSE;\n\nROLLBACK;\n")
_GOOD_VERIFY = ("-- Verify flipr:users on pg\n\nBEGIN;\n\nSELECT nickname, password, timestamp\n"
                "  FROM flipr.users\n WHERE FALSE;\nINSERT INTO flipr.users VALUES ('probe', 'x');\n\nROLLBACK;\n")

# `sqitch rework insert_user` after the tag: the plan names insert_user again; the old scripts are the @tag copies.
_OLD_INSERT = SQITCH["deploy/insert_user.sql"]
_NEW_INSERT = _OLD_INSERT.replace("md5($2)", "encode(sha256(convert_to($2, 'UTF8')), 'hex')")
REWORKED = {
    **SQITCH,
    "sqitch.plan": SQITCH["sqitch.plan"]
    + "insert_user [insert_user@v1.0.0-dev1] 2014-01-02T10:00:00Z Marge N. O'Vera <marge@example.com> "
      "# Change insert_user to hash with SHA-256.\n"
    + "change_pass [users appschema] 2014-01-03T10:00:00Z Marge N. O'Vera <marge@example.com> "
      "# Creates a function to change a password.\n",
    "deploy/insert_user@v1.0.0-dev1.sql": _OLD_INSERT,
    "revert/insert_user@v1.0.0-dev1.sql": SQITCH["revert/insert_user.sql"],
    "verify/insert_user@v1.0.0-dev1.sql": "SELECT has_function_privilege('flipr.insert_user(text, text)', "
                                          "'execute');\n",
    "deploy/insert_user.sql": _NEW_INSERT,
    "revert/insert_user.sql": _OLD_INSERT.replace("-- Deploy", "-- Revert"),  # back to md5
    "verify/insert_user.sql": "BEGIN;\nSELECT 1/count(*) FROM pg_proc WHERE proname = 'insert_user' "
                              "AND prosrc LIKE '%sha256%';\nROLLBACK;\n",
    "deploy/change_pass.sql": "BEGIN;\nCREATE FUNCTION flipr.change_pass(nick TEXT, pass TEXT) RETURNS boolean "
                              "LANGUAGE sql AS $$ UPDATE flipr.users SET password = md5(pass) "
                              "WHERE nickname = nick RETURNING true $$;\nCOMMIT;\n",
    "revert/change_pass.sql": "BEGIN;\nDROP FUNCTION flipr.change_pass(TEXT, TEXT);\nCOMMIT;\n",
}
NAMES = ["appschema", "users", "insert_user@v1.0.0-dev1", "insert_user", "change_pass"]


def _args(db: Database, folder: Path) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(folder)]


def _status(db: Database, folder: Path) -> list[tuple[str, str, str]]:
    r = run_cli("status", *_args(db, folder), "--json")
    assert r.code == 0, r.stderr
    return [(m["version"], m["name"], m["state"]) for m in json.loads(r.stdout)["migrations"]]


def _insert_user_body(db: Database) -> str:
    return db.scalar("SELECT prosrc FROM pg_proc WHERE proname = 'insert_user'")


# --- verify ---------------------------------------------------------------------------------------------------

def test_a_failing_verify_undoes_its_deploy_and_stops_the_run(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", {**SQITCH, "verify/users.sql": _BAD_VERIFY})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    out = r.stdout + r.stderr
    assert f"its verify script failed at {folder / 'verify' / 'users.sql'} line 8" in out, out
    assert "nosuchcolumn" in out and "the deploy was rolled back with it" in out
    assert not database.exists("flipr.users"), "the deploy went with its failed verify"
    assert [n for _, n, s in _status(database, folder) if s == "applied"] == ["appschema"]
    assert database.scalar("SELECT count(*) FROM public._migration_audit WHERE event = 'failed' "
                           "AND migration_name = 'users'") == 1


def test_a_passing_verify_leaves_nothing_behind(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", {**SQITCH, "verify/users.sql": _GOOD_VERIFY})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert database.scalar("SELECT count(*) FROM flipr.users") == 0, "the verify's own changes are undone"
    assert {s for _, _, s in _status(database, folder)} == {"applied"}


def test_verify_false_in_tidemark_toml_skips_them(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", {**SQITCH, "verify/users.sql": _BAD_VERIFY,
                                         "tidemark.toml": 'layout = "sqitch"\nverify = false\n'})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert database.exists("flipr.users")


def test_a_verify_with_a_syntax_error_is_refused_before_anything_runs(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", {**SQITCH, "verify/insert_user.sql": "BEGIN;\nSELEC 1;\nROLLBACK;\n"})
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 2, r.stdout + r.stderr
    assert f"{folder / 'verify' / 'insert_user.sql'}:2" in r.stderr, r.stderr
    assert not database.exists("public._migrations") and not database.exists("flipr.users")


def test_a_verify_outside_a_transaction_leaves_the_change_unrecorded(database: Database, tmp_path: Path) -> None:
    files = {**SQITCH,
             "sqitch.plan": SQITCH["sqitch.plan"] + "users_idx [users] 2014-01-02T10:00:00Z M <m@example.com> # idx\n",
             "deploy/users_idx.sql": "CREATE INDEX CONCURRENTLY users_ts_idx ON flipr.users (timestamp);\n",
             "revert/users_idx.sql": "DROP INDEX CONCURRENTLY flipr.users_ts_idx;\n",
             "verify/users_idx.sql": "SELECT 1/count(*) FROM pg_indexes WHERE indexname = 'no_such_idx';\n"}
    folder = _write(tmp_path / "flipr", files)
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "users_idx ran outside a transaction and its changes stay" in out, out
    assert f"{folder / 'verify' / 'users_idx.sql'} line 1" in out and "division by zero" in out
    assert f"run {folder / 'revert' / 'users_idx.sql'} by hand" in out
    assert database.exists("flipr.users_ts_idx"), "true: the index stays"
    assert "users_idx" not in [n for _, n, s in _status(database, folder) if s == "applied"]


def test_rehearse_runs_the_verify_scripts(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", {**SQITCH, "verify/users.sql": _BAD_VERIFY})
    r = run_cli("rehearse", *_args(database, folder))
    assert r.code == 1, r.stdout + r.stderr
    assert "users: FAILED" in r.stdout and "its verify script failed at" in r.stdout, r.stdout
    assert not database.exists("public._migrations"), "the rehearsal ran on a copy"


# --- reworked changes --------------------------------------------------------------------------------------

def test_each_plan_entry_of_a_reworked_change_is_its_own_migration(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", REWORKED)
    assert [(v, n) for v, n, _ in _status(database, folder)] == list(zip(["1", "2", "3", "4", "5"], NAMES,
                                                                         strict=True))
    r = run_cli("migrate", "--target", "3", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert "md5" in _insert_user_body(database), "the older entry ran its @tag script"
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert "sha256" in _insert_user_body(database), "the reworked entry ran the new deploy (and its verify)"
    assert run_cli("rollback", "2", *_args(database, folder)).code == 0
    assert "md5" in _insert_user_body(database), "the reworked entry's revert is the new revert script"
    assert run_cli("rollback", "1", *_args(database, folder)).code == 0
    assert _insert_user_body(database) is None, "the older entry's revert is its @tag copy"


@NEEDS_SQITCH
def test_sqitch_itself_deploys_a_reworked_change_then_tidemark_goes_on(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", REWORKED)
    run = _sqitch(database, folder, "deploy", "--verify", "--to-change", "insert_user@HEAD", "db:pg:")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = database.query("SELECT change, change_id FROM sqitch.changes ORDER BY committed_at")
    assert [c for c, _ in rows] == ["appschema", "users", "insert_user", "insert_user"]
    assert rows[2][1] != rows[3][1], "Sqitch gives each entry of a reworked change its own change_id"
    before = database.query("SELECT * FROM sqitch.changes ORDER BY change_id")

    r = run_cli("import-history", "--from", "sqitch", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert "CHANGED" not in r.stdout, "each entry's script is the one Sqitch hashed"
    assert _status(database, folder) == [(str(i), n, "applied") for i, n in enumerate(NAMES[:4], start=1)] + [
        ("5", "change_pass", "pending")]
    r = run_cli("migrate", *_args(database, folder))
    assert r.code == 0 and "applied 1 migration" in r.stdout, r.stdout + r.stderr
    assert database.scalar("SELECT count(*) FROM pg_proc WHERE proname = 'change_pass'") == 1
    assert database.query("SELECT * FROM sqitch.changes ORDER BY change_id") == before, "read, never changed"
