"""Environments with their passwords in a real keyring (gnome-keyring's Secret Service), against real servers."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import psycopg
import pytest
from psycopg import conninfo, sql

from app.core import environments as envs
from app.core import passwords
from tests import keyring_service
from tests.conftest import Database, MigrationDir, run_cli

secret_service = pytest.fixture(scope="module")(keyring_service.secret_service)


@pytest.fixture
def real_keyring(secret_service: keyring_service.SecretService, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The Secret Service backend for this test, the previous backend restored after."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service.env["DBUS_SESSION_BUS_ADDRESS"])
    previous = keyring.get_keyring()
    backend = keyring_service.backend(secret_service)
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder of this test's own, and no password from libpq's own sources."""
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    return tmp_path / "home"


@dataclass
class Login:
    """A role with a password made up at run time, allowed to migrate one test database."""

    user: str
    password: str
    url: str  # postgresql://user@host:port/db, no password


@pytest.fixture
def login(database: Database) -> Iterator[Login]:
    """A login role for the test database, dropped after the test."""
    user = "tm_" + uuid.uuid4().hex[:10]
    password = secrets.token_urlsafe(18)
    admin = database.server.admin_dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password)))
        conn.execute(sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(database.name), sql.Identifier(user)))
    database.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {user}")
    params = conninfo.conninfo_to_dict(database.dsn)
    host = params.get("host") or "localhost"
    url = f"postgresql://{user}@{host}:{params.get('port') or 5432}/{database.name}"
    try:
        yield Login(user, password, url)
    finally:
        with database.connect() as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(user)))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def _no_secret(password: str, *texts: str) -> None:
    for text in texts:
        assert password not in text


def test_passwords_round_trip_in_the_secret_service(real_keyring: object) -> None:
    name = "env-" + uuid.uuid4().hex[:8]
    pw = secrets.token_urlsafe(12)
    assert passwords.keyring_status().available
    assert passwords.get_password(name) is None
    passwords.set_password(name, pw)
    assert keyring.get_password("tidemark", name) == pw
    assert passwords.delete_password(name) is True
    assert passwords.delete_password(name) is False
    assert keyring.get_password("tidemark", name) is None


def test_add_with_password_stdin_then_status_connects(real_keyring: object, home: Path, login: Login,
                                                      migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    r = run_cli("env", "add", "staging", "--dsn", login.url, "--migrations-dir", str(migrations.path),
                "--password-stdin", stdin=login.password + "\n")
    assert r.code == 0, r.stderr
    assert "stored in the keyring" in r.stdout
    assert keyring.get_password("tidemark", "staging") == login.password
    file = home / "config" / "environments.toml"
    text = file.read_text()
    assert login.password not in text and login.user in text
    assert (file.stat().st_mode & 0o777) == 0o600

    r2 = run_cli("env", "list", "--json")
    doc = json.loads(r2.stdout)
    assert doc["environments"][0]["password_stored"] is True
    # the profile's migrations folder is used when --migrations-dir is not given
    r3 = run_cli("status", "--environment", "staging", "--json")
    assert r3.code == 0, r3.stderr
    status = json.loads(r3.stdout)
    assert status["counts"]["pending"] == 1
    r4 = run_cli("migrate", "--env", "staging")
    assert r4.code == 0, r4.stderr
    _no_secret(login.password, r.stdout, r.stderr, r2.stdout, r2.stderr, r3.stdout, r3.stderr, r4.stdout, r4.stderr)


def test_wrong_password_is_one_line_exit_2(real_keyring: object, home: Path, login: Login) -> None:
    wrong = secrets.token_urlsafe(12)
    assert run_cli("env", "add", "staging", "--dsn", login.url, "--password-stdin", stdin=wrong).code == 0
    r = run_cli("status", "--environment", "staging")
    assert r.code == 2
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "password authentication failed" in r.stderr and "environment staging" in r.stderr
    _no_secret(wrong, r.stdout, r.stderr)
    # fixing the password in the keyring fixes the login
    assert run_cli("env", "edit", "staging", "--password-stdin", stdin=login.password).code == 0
    assert run_cli("status", "--environment", "staging").code == 0


def test_dsn_with_password_is_stripped_and_moved_to_the_keyring(real_keyring: object, home: Path,
                                                                 login: Login) -> None:
    with_pw = login.url.replace(f"{login.user}@", f"{login.user}:{login.password}@")
    r = run_cli("env", "add", "qa", "--dsn", with_pw)
    assert r.code == 0, r.stderr
    assert "removed from it and stored in the keyring" in r.stdout
    _no_secret(login.password, r.stdout, r.stderr, (home / "config" / "environments.toml").read_text())
    assert keyring.get_password("tidemark", "qa") == login.password
    assert envs.get_environment("qa").dsn == login.url
    assert run_cli("status", "--env", "qa").code == 0


def test_protected_environment_needs_yes_without_a_terminal(real_keyring: object, home: Path, login: Login,
                                                            database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    r = run_cli("env", "add", "production", "--dsn", login.url, "--password-stdin", stdin=login.password)
    assert r.code == 0 and "(protected)" in r.stdout
    m = ["--migrations-dir", str(migrations.path)]
    r = run_cli("migrate", "--env", "production", *m)
    assert r.code == 2
    assert "protected" in r.stderr and "--yes" in r.stderr
    assert not database.exists("public.t") and not database.exists("public._migrations"), "nothing changed"
    assert run_cli("migrate", "--env", "production", "--dry-run", *m).code == 0, "a dry run needs no confirmation"
    r = run_cli("migrate", "--env", "production", "--yes", *m)
    assert r.code == 0, r.stderr
    assert database.exists("public.t")
    r = run_cli("rollback", "--env", "production", *m)
    assert r.code == 2 and database.exists("public.t")
    r = run_cli("rollback", "--env", "production", "-y", *m)
    assert r.code == 0, r.stderr
    assert not database.exists("public.t")
    # baseline changes the history too: the same confirmation
    r = run_cli("baseline", "20260101000001", "--env", "production", *m)
    assert r.code == 2 and "protected" in r.stderr
    assert database.scalar("SELECT count(*) FROM public._migrations") == 0
    assert run_cli("baseline", "20260101000001", "--env", "production", "--yes", "--force", *m).code == 0
    assert database.scalar("SELECT count(*) FROM public._migrations") == 1
    assert run_cli("rollback", "--env", "production", "-y", *m).code == 2  # baselined: manual, refused
    # --no-protected turns it off
    assert run_cli("env", "edit", "production", "--no-protected").code == 0
    assert run_cli("migrate", "--env", "production", *m).code == 0


def test_remove_deletes_the_keyring_entry(real_keyring: object, home: Path, login: Login) -> None:
    pw = secrets.token_urlsafe(12)
    assert run_cli("env", "add", "dev", "--dsn", login.url, "--password-stdin", stdin=pw).code == 0
    assert keyring.get_password("tidemark", "dev") == pw
    r = run_cli("env", "remove", "dev")
    assert r.code == 0 and "password from the keyring" in r.stdout
    assert keyring.get_password("tidemark", "dev") is None
    assert envs.list_environments() == []
    r = run_cli("status", "--env", "dev")
    assert r.code == 2 and "unknown environment 'dev'" in r.stderr


def test_env_test_reports_server_user_privileges(real_keyring: object, home: Path, login: Login,
                                                 database: Database) -> None:
    assert run_cli("env", "add", "staging", "--dsn", login.url, "--password-stdin", stdin=login.password).code == 0
    r = run_cli("env", "test", "staging", "--json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["current_user"] == login.user and doc["is_superuser"] is False
    assert doc["server_version"].split(".")[0] == str(database.server.major)
    assert doc["missing_privileges"] == [] and doc["latency_ms"] >= 0
    database.execute(f"REVOKE CREATE ON SCHEMA public FROM {login.user}; REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    r = run_cli("env", "test", "staging")
    assert r.code == 1
    assert "CREATE on schema public" in r.stdout and "not superuser" in r.stdout and "latency" in r.stdout
    _no_secret(login.password, r.stdout, r.stderr)


def test_no_keyring_backend_falls_back_to_pgpassword(secret_service: keyring_service.SecretService,
                                                     home: Path, login: Login, tmp_path: Path) -> None:
    """A headless server: keyring's fail backend. Storing refuses in one line; PGPASSWORD still works."""
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "TIDEMARK_HOME": str(home), "PGPASSFILE": str(tmp_path / "no-pgpass")}
    env.pop("PGPASSWORD", None)
    tidemark = [sys.executable, "-m", "app.cli"]

    def run(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*tidemark, *args], input=stdin, capture_output=True, text=True,
                              env={**env, **extra}, timeout=60)

    r = run("env", "add", "ci", "--dsn", login.url, "--password-stdin", stdin=login.password)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no keyring backend" in r.stderr and "nothing was saved" in r.stderr
    _no_secret(login.password, r.stdout, r.stderr)
    assert run("env", "add", "ci", "--dsn", login.url).returncode == 0
    r = run("status", "--env", "ci", PGPASSWORD=login.password)
    assert r.returncode == 0, r.stderr
    assert "no keyring backend" in r.stderr and "PGPASSWORD" in r.stderr
    _no_secret(login.password, r.stdout, r.stderr)
    r = run("status", "--env", "ci")
    assert r.returncode == 2 and "password" in r.stderr


def test_locked_keyring_is_one_line_and_falls_back(home: Path, login: Login, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A locked collection (its own service: it cannot be unlocked again without a prompt)."""
    import secretstorage

    service = keyring_service.start()
    previous = keyring.get_keyring()
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", service.env["DBUS_SESSION_BUS_ADDRESS"])
        keyring.set_keyring(keyring_service.backend(service))
        assert run_cli("env", "add", "staging", "--dsn", login.url, "--password-stdin", stdin=login.password).code == 0
        bus = secretstorage.dbus_init()
        try:
            secretstorage.get_default_collection(bus).lock()
        finally:
            bus.close()
        r = run_cli("env", "add", "other", "--dsn", login.url, "--password-stdin", stdin=login.password)
        assert r.code == 2 and "keyring is locked" in r.stderr and len(r.stderr.splitlines()) == 1
        assert [p.name for p in envs.list_environments()] == ["staging"], "nothing saved"
        capsys.readouterr()
        monkeypatch.setenv("PGPASSWORD", login.password)
        r = run_cli("status", "--env", "staging")
        assert r.code == 0, r.stderr
        note = capsys.readouterr().err
        assert "keyring is locked" in note and "PGPASSWORD" in note
        _no_secret(login.password, r.stdout, r.stderr, note)
    finally:
        keyring.set_keyring(previous)
        service.stop()
