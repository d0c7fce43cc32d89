"""Notifications: bodies received by a real HTTP server on loopback, bounded delivery, no secret in files."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.core import lock
from tests import notify_receiver
from tests.conftest import Database, MigrationDir, in_thread, run_cli, wait_for
from tests.notify_receiver import Receiver

receiver = pytest.fixture(notify_receiver.serve)


def _project(root: Path, kind: str = "webhook", events: str = '["finished", "failed", "drift"]',
             **extra: object) -> None:
    more = "".join(f"{k} = {v}\n" for k, v in extra.items())
    (root / "tidemark.toml").write_text(f'[notifications.hook]\nkind = "{kind}"\nevents = {events}\n{more}',
                                        encoding="utf-8")


@pytest.fixture
def hook(receiver: Receiver, monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[str]:
    """The URL of notification 'hook' (a secret path on the receiver), given as CI gives it: the variable."""
    url = receiver.url(f"/hooks/{secrets.token_hex(12)}")
    monkeypatch.setenv("TIDEMARK_NOTIFY_URL_HOOK", url)
    yield url


def _migrate(db: Database, m: MigrationDir, *more: str) -> object:
    return run_cli("migrate", "--dsn", db.dsn, "--migrations-dir", str(m.path), *more)


def test_a_failed_run_sends_the_webhook_its_json(database: Database, migrations: MigrationDir, receiver: Receiver,
                                                 hook: str) -> None:
    _project(migrations.path.parent)
    migrations.add("ok", "CREATE TABLE ok_one (id int);\n")
    migrations.add("bad", "CREATE TABLE bad_one (id int);\nSELECT * FROM no_such_table;\n")
    r = _migrate(database, migrations)
    assert r.code == 1, r.stdout + r.stderr  # what it is without notifications: the run's own result
    body = receiver.wait(1)[0].json()
    assert body["event"] == "failed" and body["result"] == "failed"
    assert body["environment"] is None and body["target"].endswith(f"/{database.name}")
    assert body["migrations"] == ["20260101000001_ok.sql", "20260101000002_bad.sql"]
    assert 'relation "no_such_table" does not exist' in body["error"]
    assert isinstance(body["duration_ms"], int) and body["duration_ms"] >= 0
    assert body["tool"] == "tidemark" and body["tool_version"] and body["time"].endswith("+00:00")
    assert body["notification"] == "hook" and body["batch_id"]
    got = receiver.received[0]
    assert got.headers["Content-Type"].startswith("application/json") and got.path == hook.split(":", 2)[2][5:]
    assert "warning" not in r.stdout + r.stderr


def test_a_finished_run_lists_what_it_applied(database: Database, migrations: MigrationDir, receiver: Receiver,
                                              hook: str) -> None:
    _project(migrations.path.parent)
    migrations.add("one", "CREATE TABLE one (id int);\n")
    assert _migrate(database, migrations).code == 0
    body = receiver.wait(1)[0].json()
    assert (body["event"], body["result"], body["error"]) == ("finished", "ok", None)
    assert body["migrations"] == ["20260101000001_one.sql"]


def test_drift_found_is_sent_with_the_differences(database: Database, migrations: MigrationDir, receiver: Receiver,
                                                  hook: str) -> None:
    _project(migrations.path.parent, events='["drift"]')
    migrations.add("users", "CREATE TABLE users (id bigint PRIMARY KEY);\n")
    assert _migrate(database, migrations).code == 0
    r = run_cli("drift", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 0 and not receiver.received  # agrees: nothing sent (and finished was not asked for)
    database.execute("ALTER TABLE users ADD COLUMN nickname text")
    r = run_cli("drift", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert r.code == 1, r.stdout + r.stderr
    body = receiver.wait(1)[0].json()
    assert (body["event"], body["result"]) == ("drift", "drift")
    assert body["migrations"] == ["20260101000001_users.sql"]
    assert body["error"] == "1 object differs from what the files produce"
    assert body["details"] == ["column public.users.nickname: the target has it; the files do not create it"]


def test_a_slack_message_has_text_and_blocks_with_escaped_text(database: Database, migrations: MigrationDir,
                                                               receiver: Receiver, hook: str) -> None:
    _project(migrations.path.parent, kind="slack")
    migrations.add("boom", "DO $$ BEGIN RAISE EXCEPTION '<!channel> & boom'; END $$;\n")
    assert _migrate(database, migrations).code == 1
    body = receiver.wait(1)[0].json()
    assert set(body) == {"text", "blocks"} and isinstance(body["text"], str) and body["text"]
    assert "<!channel>" not in json.dumps(body)  # Slack markup from a server's message would ping everyone
    assert "&lt;!channel&gt; &amp; boom" in json.dumps(body)
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[0] == "header" and kinds[-1] == "context" and "section" in kinds
    header = body["blocks"][0]["text"]
    assert header["type"] == "plain_text" and 0 < len(header["text"]) <= 150 and "migrate failed" in header["text"]
    for b in body["blocks"]:
        if b["type"] == "section":
            assert b["text"]["type"] == "mrkdwn" and 0 < len(b["text"]["text"]) <= 3000
        if b["type"] == "context":
            assert all(e["type"] in ("mrkdwn", "plain_text") and e["text"] for e in b["elements"])
    assert any("boom.sql" in b["text"]["text"] for b in body["blocks"] if b["type"] == "section")


def _audit_notes(db: Database) -> list[tuple[str, str]]:
    return db.query("SELECT event, reason FROM public._migration_audit WHERE event = 'notify_failed'")


def test_a_hanging_receiver_delays_the_run_by_its_timeout_at_most(database: Database, migrations: MigrationDir,
                                                                  receiver: Receiver, hook: str) -> None:
    timeout = 2.0
    _project(migrations.path.parent, timeout=timeout)
    receiver.hang = True
    receiver.watch_for = hook.rsplit("/", 1)[1]
    migrations.add("one", "CREATE TABLE one (id int);\n")
    started = time.monotonic()
    r = _migrate(database, migrations)
    took = time.monotonic() - started
    assert r.code == 0, r.stdout + r.stderr
    assert len(receiver.received) == 1  # it did reach the receiver, which never answered
    assert timeout <= took < timeout + 6.0, took  # the timeout, plus a generous bound for the run itself
    said = r.stdout + r.stderr
    warnings = [line for line in said.splitlines() if "warning: notification 'hook'" in line]
    assert len(warnings) == 1 and "no answer within 2 s" in warnings[0] and "noted in the audit trail" in warnings[0]
    assert hook.split("/hooks/")[0] not in said and hook.rsplit("/", 1)[1] not in said  # nor its host and port
    notes = _audit_notes(database)
    assert len(notes) == 1 and "'hook'" in notes[0][1] and "no answer" in notes[0][1] and hook not in notes[0][1]
    assert receiver.seen_in_process_list == []  # the URL was in no process's command line while it was sent


def test_a_receiver_error_is_retried_once_then_one_warning(database: Database, migrations: MigrationDir,
                                                           receiver: Receiver, hook: str) -> None:
    _project(migrations.path.parent)
    receiver.status = 503
    migrations.add("one", "CREATE TABLE one (id int);\n")
    r = _migrate(database, migrations)
    assert r.code == 0
    assert len(receiver.wait(2)) == 2
    lines = [line for line in (r.stdout + r.stderr).splitlines() if "warning" in line]
    assert lines == ["warning: notification 'hook' (webhook, finished) not delivered: the receiver answered 503; "
                     "noted in the audit trail"]
    r = run_cli("history", "--dsn", database.dsn, "--migrations-dir", str(migrations.path))
    assert "notification not delivered" in r.stdout, r.stdout


def test_lock_wait_is_sent_while_the_run_waits(database: Database, migrations: MigrationDir, receiver: Receiver,
                                               hook: str) -> None:
    _project(migrations.path.parent, events='["lock-wait"]', lock_wait=0.5)
    migrations.add("one", "CREATE TABLE one (id int);\n")
    with psycopg.connect(database.dsn, autocommit=True) as other:
        assert lock.try_acquire(other)
        thread, errors = in_thread(lambda: _migrate(database, migrations, "--wait-lock", "60"))
        body = receiver.wait(1)[0].json()
        assert (body["event"], body["result"]) == ("lock-wait", "waiting")
        assert "waiting" in body["error"] and "migration lock" in body["error"]
        assert thread.is_alive()  # still waiting: the message came while it waited
        lock.release(other)
    wait_for(lambda: not thread.is_alive(), "the run to finish after the lock was given back")
    assert not errors and database.exists("public.one")


def test_a_wrong_notification_table_is_bad_input_and_nothing_runs(database: Database, migrations: MigrationDir,
                                                                  hook: str) -> None:
    _project(migrations.path.parent, kind="email")
    migrations.add("one", "CREATE TABLE one (id int);\n")
    r = _migrate(database, migrations)
    assert r.code == 2, r.stdout + r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "tidemark.toml: [notifications.hook]: kind must be one of webhook, slack, not 'email'" in r.stderr
    assert not database.exists("public.one") and not database.exists("public._migrations")
    (migrations.path.parent / "tidemark.toml").write_text('[notifications.hook]\nkind = "slack"\nevents = '
                                                          '["failed"]\nurl = "https://x"\n', encoding="utf-8")
    r = _migrate(database, migrations)
    assert r.code == 2 and "a URL is not read from a file" in r.stderr and "https://x" not in r.stderr


def test_without_a_keyring_add_is_one_line_and_writes_nothing(home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = run_cli("notify", "add", "ops", "--kind", "slack", "--events", "failed", "--project", "--url-stdin",
                stdin="https://hooks.example.invalid/services/T/B/secret\n")
    assert r.code == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "cannot store the URL of notification 'ops'" in r.stderr and "TIDEMARK_NOTIFY_URL_OPS" in r.stderr
    assert not (tmp_path / "tidemark.toml").exists() and "secret" not in r.stderr
    r = run_cli("notify", "add", "ops", "--kind", "slack", "--events", "failed,sometimes", "--project")
    assert r.code == 2 and "--events: unknown event 'sometimes'" in r.stderr
