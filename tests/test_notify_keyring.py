"""`tidemark notify add|list|test|remove` with a real keyring (gnome-keyring under its own D-Bus): the URL
reaches the receiver, and no file we write, no history row and no process list ever holds it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from app.core import environments as envs
from tests import keyring_service, notify_receiver
from tests.conftest import Database, Server, run_cli
from tests.notify_receiver import Receiver

secret_service = pytest.fixture(scope="module")(keyring_service.secret_service)
receiver = pytest.fixture(notify_receiver.serve)


@pytest.fixture
def real_keyring(secret_service: keyring_service.SecretService, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The Secret Service backend for this test, the previous backend restored after."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring_service.backend(secret_service))
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_keyring: object, database: Database,
            pg_server: Server) -> Path:
    """A project folder (the cwd) with migrations, and environment 'staging' on the test database."""
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    if pg_server.password:
        monkeypatch.setenv("PGPASSWORD", pg_server.password)
    root = tmp_path / "proj"
    (root / "migrations").mkdir(parents=True)
    monkeypatch.chdir(root)
    dsn, _ = envs.split_password(database.dsn)
    envs.save_environment(envs.Profile("staging", dsn=dsn, migrations_dir=str(root / "migrations")))
    return root


def _files_holding(root: Path, secret: str) -> list[str]:
    return [str(f) for f in root.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]


def test_add_list_test_run_remove_and_the_url_is_nowhere(project: Path, receiver: Receiver, database: Database,
                                                         tmp_path: Path) -> None:
    token = secrets.token_hex(16)
    slack_url, hook_url = receiver.url(f"/services/{token}/s"), receiver.url(f"/hooks/{token}/w")
    receiver.watch_for = token
    said: list[str] = []

    def cli(*args: str, stdin: str = "") -> object:
        r = run_cli(*args, stdin=stdin)
        said.extend((r.stdout, r.stderr))
        return r

    r = cli("notify", "add", "ops-slack", "--kind", "slack", "--events", "failed,drift", "--env", "staging",
            "--url-stdin", stdin=slack_url + "\n")
    assert r.code == 0, r.stderr
    assert "notification ops-slack (slack: failed, drift) for environment staging" in r.stdout
    r = cli("notify", "add", "deploys", "--kind", "webhook", "--events", "finished", "--project", "--timeout", "3",
            "--url-stdin", stdin=hook_url)
    assert r.code == 0, r.stderr
    assert keyring.get_password("tidemark", "notify:ops-slack") == slack_url
    assert keyring.get_password("tidemark", "notify:deploys") == hook_url
    assert envs.get_environment("staging").notify == ("ops-slack",)
    text = (project / "tidemark.toml").read_text()
    assert '[notifications.deploys]\nkind = "webhook"\nevents = [\n    "finished",\n]\ntimeout = 3.0\n' in text

    r = cli("notify", "list", "--json")
    doc = json.loads(r.stdout)
    rows = {n["name"]: n for n in doc["notifications"]}
    assert rows["ops-slack"]["url"] == rows["deploys"]["url"] == "keyring"
    assert rows["ops-slack"]["environments"] == ["staging"] and rows["deploys"]["scope"] == "project"
    r = cli("notify", "list")
    assert "ops-slack" in r.stdout and "in keyring" in r.stdout

    r = cli("notify", "test", "--env", "staging")
    assert r.code == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["ops-slack (slack): the receiver answered 200",
                                     "deploys (webhook): the receiver answered 200"]
    got = receiver.wait(2)
    assert {g.path for g in got} == {f"/services/{token}/s", f"/hooks/{token}/w"}

    (project / "migrations" / "20260101000001_bad.sql").write_text("SELECT * FROM nowhere;\n")
    r = cli("migrate", "--env", "staging")
    assert r.code == 1
    failed = receiver.wait(3)[2]
    assert failed.path == f"/services/{token}/s" and "migrate failed on staging" in failed.json()["text"]
    (project / "migrations" / "20260101000001_bad.sql").write_text("CREATE TABLE fine (id int);\n")
    r = cli("migrate", "--env", "staging")
    assert r.code == 0, r.stderr
    finished = receiver.wait(4)[3].json()
    assert (finished["event"], finished["environment"]) == ("finished", "staging")
    r = cli("report", "--env", "staging", "--output", str(tmp_path / "report.html"))
    assert r.code == 0, r.stderr
    cli("history", "--env", "staging", "--json")

    # The URL: in no output, no file under the test's folders (profiles, tidemark.toml, logs, the report),
    # no history row, no process's command line while it was sent.
    assert all(token not in s for s in said)
    assert _files_holding(tmp_path, token) == []
    rows_text = database.query("SELECT string_agg(t::text, ' ') FROM (SELECT * FROM public._migrations) t "
                               "UNION ALL SELECT string_agg(a::text, ' ') FROM public._migration_audit a")
    assert rows_text and all(token not in (r[0] or "") for r in rows_text)
    assert receiver.seen_in_process_list == []

    r = cli("notify", "remove", "ops-slack")
    assert r.code == 0 and "named by staging" in r.stdout and "its URL from the keyring" in r.stdout
    assert keyring.get_password("tidemark", "notify:ops-slack") is None
    assert envs.get_environment("staging").notify == ()
    assert "ops-slack" not in envs.environments_file().read_text()
    r = cli("notify", "remove", "deploys", "--project")
    assert r.code == 0, r.stderr
    assert "deploys" not in (project / "tidemark.toml").read_text()
    assert keyring.get_password("tidemark", "notify:deploys") is None
