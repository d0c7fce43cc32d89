"""Password commands (tokens) and client keys: the password reaches every connection and pg_dump,
and is in no file, log, history row or process list; failures and hangs are reported in time."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from app.core.connect import Target
from tests.conftest import run_cli


def split(dsn: str) -> tuple[str, str]:
    """The DSN without its password, and the password."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    password = params.pop("password")
    return psycopg.conninfo.make_conninfo(**params), password


def files_holding(root: Path, secret: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(path)
    return found


def process_lists_holding(secret: str) -> list[int]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        if secret in " ".join(p.info["cmdline"] or []):
            found.append(p.pid)
    return found


def test_migrate_with_a_password_command_leaves_the_password_nowhere(database, migrations, tmp_path) -> None:
    dsn, password = split(database.dsn)
    vault = tmp_path / "vault"  # where the token comes from, outside Tidemark's home
    vault.write_text(password + "\n")
    runs = tmp_path / "runs"
    command = f"sh -c {shlex.quote(f'echo run >> {runs}; cat {vault}')}"
    name = "tok-" + database.name
    r = run_cli("env", "add", name, "--dsn", dsn, "--password-command", command, "--no-protected")
    assert r.code == 0, r.stderr
    assert "password command" in r.stdout
    try:
        migrations.add("create_t", "CREATE TABLE t (id int);\n-- ROLLBACK: DROP TABLE t;\n")
        r = run_cli("migrate", "--env", name, "--migrations-dir", migrations.path)
        assert r.code == 0, r.stderr
        assert database.exists("t")
        ran = runs.read_text().count("run")
        assert ran >= 1
        assert run_cli("status", "--env", name, "--migrations-dir", migrations.path).code == 0
        assert runs.read_text().count("run") > ran  # run again for each connection, never cached
        r = run_cli("env", "list")
        assert "command" in r.stdout
        home = Path(os.environ["TIDEMARK_HOME"])
        assert password not in r.stdout + r.stderr
        assert files_holding(home, password) == []  # profiles file, logs, backups
        assert process_lists_holding(password) == []
        rows = database.query("SELECT row_to_json(m)::text FROM _migrations m")
        assert rows and all(password not in row[0] for row in rows)
    finally:
        run_cli("env", "remove", name)


def test_the_password_command_reaches_pg_dump(database, tmp_path) -> None:
    from app.core.backup import backup

    dsn, password = split(database.dsn)
    vault = tmp_path / "vault"
    vault.write_text(password)
    result = backup(Target(dsn, "--dsn", password_command=f"cat {vault}"), root=tmp_path / "backups")
    assert result.size_bytes > 0  # pg_dump logged in over TCP with the command's password


def test_password_command_on_the_command_line(database, migrations, tmp_path) -> None:
    dsn, password = split(database.dsn)
    vault = tmp_path / "vault"
    vault.write_text(password + "\n")
    migrations.add("create_t", "CREATE TABLE t (id int);\n")
    r = run_cli("migrate", "--dsn", dsn, "--password-command", f"cat {vault}", "--migrations-dir", migrations.path)
    assert r.code == 0, r.stderr
    assert database.exists("t")


def test_a_failing_command_gives_its_status_and_first_stderr_line_never_its_output(database, migrations) -> None:
    dsn, _ = split(database.dsn)
    migrations.add("create_t", "CREATE TABLE t (id int);\n")
    script = "echo stdout-token-xyz; echo 'token expired: log in again' >&2; echo second line >&2; exit 3"
    r = run_cli("migrate", "--dsn", dsn, "--password-command", f"sh -c {shlex.quote(script)}",
                "--migrations-dir", migrations.path)
    assert r.code == 2
    assert "the password command (sh) failed with exit status 3: token expired: log in again" in r.stderr
    assert "stdout-token-xyz" not in r.stderr + r.stdout and "second line" not in r.stderr
    assert not database.exists("_migrations") and not database.exists("t")


def test_a_hanging_command_is_stopped_at_the_timeout(database, migrations, monkeypatch) -> None:
    dsn, _ = split(database.dsn)
    monkeypatch.setenv("TIDEMARK_PASSWORD_COMMAND_TIMEOUT", "1")
    migrations.add("create_t", "CREATE TABLE t (id int);\n")
    started = time.monotonic()
    r = run_cli("migrate", "--dsn", dsn, "--password-command", "sh -c 'sleep 97; echo late'",
                "--migrations-dir", migrations.path)
    elapsed = time.monotonic() - started
    assert r.code == 2
    assert "did not finish within 1 s" in r.stderr
    assert elapsed < 10
    assert not [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "97"]]  # its child too
    assert not database.exists("_migrations")


@pytest.mark.parametrize("command", ["cat /x | head -1", "get-token; true", "echo $(cat /x)"])
def test_shell_syntax_is_refused_with_the_fix(database, command) -> None:
    r = run_cli("status", "--dsn", split(database.dsn)[0], "--password-command", command)
    assert r.code == 2
    assert "shell syntax" in r.stderr and "sh -c" in r.stderr


def test_a_missing_program_is_named(database) -> None:
    r = run_cli("status", "--dsn", split(database.dsn)[0], "--password-command", "no-such-token-tool --x")
    assert r.code == 2
    assert "cannot be run: no-such-token-tool" in r.stderr


@pytest.mark.parametrize(("mode", "refused"), [(0o644, True), (0o640, True), (0o600, False)])
def test_a_client_key_readable_by_others_is_refused(database, migrations, tmp_path, mode, refused) -> None:
    key = tmp_path / "client.key"
    key.write_text("not really a key: the server does not ask for one\n")
    key.chmod(mode)
    name = f"cert-{mode:o}-{database.name}"
    dsn = split(database.dsn)[0] + " sslmode=disable"  # the check is ours, before any connection
    assert run_cli("env", "add", name, "--dsn", dsn, "--sslkey", str(key), "--no-protected").code == 0
    migrations.add("create_t", "CREATE TABLE t (id int);\n")
    try:
        password = split(database.dsn)[1]
        os.environ["PGPASSWORD"] = password
        r = run_cli("migrate", "--env", name, "--migrations-dir", migrations.path)
    finally:
        os.environ.pop("PGPASSWORD", None)
        run_cli("env", "remove", name)
    if refused:
        assert r.code == 2
        assert f"sslkey {key}" in r.stderr and f"chmod 600 {key}" in r.stderr and f"{mode:04o}" in r.stderr
        assert not database.exists("_migrations")
    else:
        assert r.code == 0, r.stderr
        assert database.exists("t")


def test_a_password_command_and_a_stored_password_exclude_each_other_and_the_command_can_be_removed(database) -> None:
    name = "both-" + database.name
    dsn = split(database.dsn)[0]
    r = run_cli("env", "add", name, "--dsn", dsn, "--password-command", "get-token", "--password-stdin", stdin="pw")
    assert r.code == 2 and "not both" in r.stderr
    assert run_cli("env", "list").stdout.count(name) == 0  # nothing saved
    assert run_cli("env", "add", name, "--dsn", dsn, "--password-command", "get-token").code == 0
    try:
        assert run_cli("env", "edit", name, "--password-command", "").code == 0
        from app.core.environments import get_environment

        assert get_environment(name).password_command is None
    finally:
        run_cli("env", "remove", name)
