"""`tidemark history` and the app's History: events in words, newest first, the reason on its row."""

from __future__ import annotations

import pytest

from tests.conftest import Database, MigrationDir, run_cli


def _args(db: Database, m: MigrationDir) -> list[str]:
    return ["--dsn", db.dsn, "--migrations-dir", str(m.path)]


@pytest.fixture
def trail(database: Database, migrations: MigrationDir) -> tuple[Database, MigrationDir]:
    """baselined a, applied b, repaired a (with a reason), rolled back b, applied b again and failed c."""
    a = migrations.add("a", "CREATE TABLE a (id int);\n")
    assert run_cli("baseline", "20260101000001", "--force", "--yes", *_args(database, migrations)).code == 0
    migrations.add("b", "CREATE TABLE b (id int);\n")
    assert run_cli("migrate", *_args(database, migrations)).code == 0
    a.write_text("CREATE TABLE a (id int); -- a typo fixed\n", encoding="utf-8")
    r = run_cli("repair", "20260101000001", "--reason", "typo fixed in a comment, ticket DBA-7", "--yes",
                *_args(database, migrations))
    assert r.code == 0, r.stderr
    assert run_cli("rollback", "1", "--yes", *_args(database, migrations)).code == 0
    migrations.add("c", "CREATE TABLE c (id int);\nSELECT no_such_function();\n")
    assert run_cli("migrate", *_args(database, migrations)).code != 0
    return database, migrations


EXPECTED = [("failed", "20260101000003_c.sql"), ("applied", "20260101000002_b.sql"),
            ("rolled back", "20260101000002_b.sql"),
            ("repaired", "20260101000001_a.sql"), ("applied", "20260101000002_b.sql"),
            ("baselined", "20260101000001_a.sql")]


def test_cli_history_newest_first_in_words_with_reasons_on_their_rows(trail: tuple[Database, MigrationDir]) -> None:
    db, m = trail
    r = run_cli("history", *_args(db, m))
    assert r.code == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split()[:3] == ["WHEN", "EVENT", "MIGRATION"] and header.rstrip().endswith("REASON / ERROR")
    found = []
    for line in rows:
        for words, name in EXPECTED:
            if f"  {words}  " in line and name in line:
                found.append((words, name))
                break
    assert found == EXPECTED, r.stdout
    assert "rolled_back" not in r.stdout
    repaired = next(line for line in rows if "  repaired  " in line)
    assert repaired.rstrip().endswith("typo fixed in a comment, ticket DBA-7")
    failed = next(line for line in rows if "  failed  " in line)
    assert "no_such_function" in failed and "20260101000003_c.sql:2" in failed
    assert len(rows) == len(EXPECTED), "one line per event"
    # JSON keeps the stored names, oldest first as before (a machine's contract).
    events = __import__("json").loads(run_cli("history", "--json", *_args(db, m)).stdout)["events"]
    assert [e["event"] for e in events] == ["baselined", "applied", "repaired", "rolled_back", "applied",
                                                 "failed"]
