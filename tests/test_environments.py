"""Environment profiles: the TOML file, validation, bad input, resolution (no keyring: its fail backend)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg import conninfo

from app.cli.main import main
from app.cli.output import Streams
from app.core import environments as envs
from app.core.errors import UsageError
from tests.conftest import Database, MigrationDir, run_cli


@pytest.fixture(autouse=True)
def _own_home(home: Path) -> Path:
    """Every test here has its own config folder and no keyring (tests/conftest.py's `home`)."""
    return home


def _file(home: Path) -> Path:
    return home / "config" / "environments.toml"


def _write(home: Path, text: str) -> Path:
    f = _file(home)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text, encoding="utf-8")
    return f


def _one_line_error(r: object, *needles: str) -> None:
    assert r.code == 2, (r.stdout, r.stderr)  # type: ignore[attr-defined]
    lines = r.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, r.stderr  # type: ignore[attr-defined]
    for n in needles:
        assert n in lines[0], lines[0]


def test_profiles_round_trip_through_the_file(home: Path, tmp_path: Path) -> None:
    r = run_cli("env", "add", "production", "--host", "db.example.com", "--port", "6543", "--database", "app",
                "--user", "deploy", "--sslmode", "verify-full", "--sslrootcert", str(tmp_path / "ca.pem"),
                "--migrations-dir", str(tmp_path / "mig"), "--colour", "#c00")
    assert r.code == 0, r.stderr
    assert "added environment production: deploy@db.example.com:6543/app (protected)" in r.stdout
    assert run_cli("env", "add", "dev", "--dsn", "postgresql://me@localhost/app_dev", "--color", "green").code == 0
    assert run_cli("env", "add", "prod-replica", "--service", "replica", "--no-protected").code == 0
    f = _file(home)
    assert (f.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in f.parent.iterdir()] == ["environments.toml"], "no temporary file left"

    prod = envs.get_environment("production")
    assert (prod.host, prod.port, prod.database, prod.user, prod.sslmode) == (
        "db.example.com", 6543, "app", "deploy", "verify-full")
    assert prod.protected is True and prod.colour == "#c00"
    assert prod.sslrootcert == str(tmp_path / "ca.pem") and prod.migrations_dir == str(tmp_path / "mig")
    assert envs.get_environment("dev").protected is False
    assert envs.get_environment("prod-replica").protected is False, "--no-protected wins over the name"
    params = conninfo.conninfo_to_dict(prod.conninfo())
    assert params["sslmode"] == "verify-full" and params["port"] == "6543" and "password" not in params

    doc = json.loads(run_cli("env", "list", "--json").stdout)
    rows = {e["name"]: e for e in doc["environments"]}
    assert rows["prod-replica"]["target"] == "service replica"
    assert rows["dev"]["colour"] == "green" and rows["dev"]["password_stored"] is None
    assert "no keyring backend" in doc["keyring_problem"]
    r = run_cli("env", "list")
    assert r.stdout.splitlines()[0].split() == ["NAME", "TARGET", "PROTECTED", "GROUPS", "COLOUR", "PASSWORD"]
    assert "unknown" in r.stdout and "cannot tell which passwords are stored" in r.stderr


def test_edit_switches_between_dsn_and_fields(home: Path) -> None:
    assert run_cli("env", "add", "staging", "--dsn", "postgresql://deploy@db1/app").code == 0
    assert run_cli("env", "edit", "staging", "--host", "db2", "--database", "app2").code == 0
    p = envs.get_environment("staging")
    assert p.dsn is None and p.host == "db2" and p.database == "app2"
    assert run_cli("env", "edit", "staging", "--dsn", "postgresql://ops@db3/app3", "--protected").code == 0
    p = envs.get_environment("staging")
    assert p.dsn == "postgresql://ops@db3/app3" and p.host is None and p.database is None and p.protected
    _one_line_error(run_cli("env", "edit", "nope", "--host", "x"), "unknown environment 'nope'", "staging")
    _one_line_error(run_cli("env", "add", "staging", "--host", "x"), "exists already", "env edit staging")


@pytest.mark.parametrize(("args", "needle"), [
    (["--port", "0"], "'port' must be a number from 1 to 65535"),
    (["--port", "abc"], "invalid int value"),
    (["--sslmode", "sometimes"], "'sslmode' must be one of"),
    (["--colour", "#12345"], "'colour' must be #rgb, #rrggbb"),
    (["--dsn", "postgresql://u@h/db", "--host", "h"], "either --dsn or"),
    (["--dsn", "host='unterminated"], "not a valid connection string"),
])
def test_invalid_values_are_one_line_exit_2(home: Path, args: list[str], needle: str) -> None:
    _one_line_error(run_cli("env", "add", "staging", *args), needle)
    assert not _file(home).exists(), "nothing written"


def test_invalid_name_and_empty_password_stdin(home: Path) -> None:
    _one_line_error(run_cli("env", "add", "my env", "--host", "h"), "name must be")
    r = run_cli("env", "add", "ok", "--host", "h", "--password-stdin", stdin="")
    _one_line_error(r, "standard input was empty")
    assert not _file(home).exists()


def test_corrupt_file_names_file_and_line(home: Path) -> None:
    f = _write(home, "version = 1\n\n[environments.staging]\nhost = \"db\"\nport = 54 32\n")
    r = run_cli("env", "list")
    _one_line_error(r, f"{f}:5:", "invalid TOML")
    _one_line_error(run_cli("status", "--env", "staging"), f"{f}:5:")
    with pytest.raises(UsageError, match=":5: invalid TOML"):
        envs.list_environments()


@pytest.mark.parametrize(("body", "needle"), [
    ('port = "5432"', "'port' must be a number"),
    ("hots = \"db\"", "unknown field 'hots'"),
    ("password = \"hunter2\"", "passwords are not read from this file"),
    ('dsn = "postgresql://u:hunter2@db/app"', "the DSN holds a password"),
    ("protected = \"yes\"", "'protected' must be true or false"),
])
def test_invalid_fields_in_the_file_name_the_line(home: Path, body: str, needle: str) -> None:
    f = _write(home, f"version = 1\n\n[environments.dev]\nhost = \"a\"\n\n[environments.staging]\ncolour = \"red\"\n"
                     f"{body}\n\n[environments.z]\nhost = \"b\"\n")
    r = run_cli("env", "list")
    _one_line_error(r, f"{f}:8:", "environment 'staging'", needle)
    assert "hunter2" not in r.stderr


def test_unreadable_and_non_utf8_file(home: Path) -> None:
    f = _file(home)
    f.mkdir(parents=True)  # a folder where the file should be: cannot be read (root ignores chmod)
    _one_line_error(run_cli("env", "list"), f"cannot read {f}")
    f.rmdir()
    f.write_bytes(b"version = 1\n# caf\xe9\n")
    _one_line_error(run_cli("env", "list"), f"{f}:2:", "not UTF-8")


def test_unknown_environment_lists_the_known_ones(home: Path) -> None:
    _one_line_error(run_cli("status", "--env", "staging"), "unknown environment 'staging'", "env add staging")
    run_cli("env", "add", "dev", "--host", "h")
    run_cli("env", "add", "production", "--host", "h")
    _one_line_error(run_cli("status", "--environment", "staging"), "known: dev, production")
    _one_line_error(run_cli("env", "remove", "staging"), "known: dev, production")
    _one_line_error(run_cli("env", "test", "staging"), "known: dev, production")


def test_api_for_the_app(home: Path, tmp_path: Path) -> None:
    """The calls the desktop app uses: save, list, get, resolve, delete."""
    result = envs.save_environment(envs.Profile("prod-eu", host="db", user="u", migrations_dir=str(tmp_path)))
    assert result.profile.protected is True and result.password_stored is False
    with pytest.raises(UsageError, match="no keyring backend"):
        envs.save_environment(envs.Profile("qa", host="db"), password="pw-not-stored")
    assert [p.name for p in envs.list_environments()] == ["prod-eu"]
    assert "pw-not-stored" not in _file(home).read_text()
    notes: list[str] = []
    target = envs.resolve_environment("prod-eu", notify=notes.append)
    assert isinstance(target, envs.EnvironmentTarget)
    assert target.environment == "prod-eu" and target.protected and target.password is None
    assert target.source == "environment prod-eu" and target.migrations_dir == tmp_path
    assert len(notes) == 1 and "no keyring backend" in notes[0]
    assert "password=" not in repr(target), "the password field is kept out of repr"
    deleted = envs.delete_environment("prod-eu")
    assert deleted.password_deleted is False and deleted.keyring_problem
    assert envs.list_environments() == []


def test_service_profile_and_pgpassword_fallback(home: Path, tmp_path: Path, database: Database,
                                                 migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """A libpq service name, its password from PGPASSWORD (CI), the profile's migrations folder."""
    params = conninfo.conninfo_to_dict(database.dsn)
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(f"[tm_test]\nhost={params.get('host', 'localhost')}\nport={params.get('port', 5432)}\n"
                            f"dbname={database.name}\nuser={params.get('user', 'postgres')}\n")
    monkeypatch.setenv("PGSERVICEFILE", str(service_file))
    migrations.add("t", "CREATE TABLE t (id int);\n")
    assert run_cli("env", "add", "svc", "--service", "tm_test", "--migrations-dir", str(migrations.path)).code == 0
    if database.server.password:
        monkeypatch.setenv("PGPASSWORD", database.server.password)
    r = run_cli("migrate", "--env", "svc")
    assert r.code == 0, r.stderr
    assert database.exists("public.t")


def test_env_commands_import_nothing_heavy() -> None:
    code = ("import sys; from app.cli.main import build_parser; build_parser(); "
            "bad = [m for m in ('psycopg', 'keyring', 'tomli_w', 'PySide6') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert r.returncode == 0, r.stderr


class _Terminal(io.StringIO):
    """Typed input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_protected_confirmation_at_a_terminal(home: Path, database: Database, migrations: MigrationDir,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    dsn, _ = envs.split_password(database.dsn)
    assert run_cli("env", "add", "production", "--dsn", dsn, "--migrations-dir", str(migrations.path)).code == 0
    if database.server.password:
        monkeypatch.setenv("PGPASSWORD", database.server.password)
    migrations.add("t", "CREATE TABLE t (id int);\n")

    def typed(text: str, *args: str) -> tuple[int, str]:
        err = io.StringIO()
        code = main(list(args), Streams(stdin=_Terminal(text), stdout=io.StringIO(), stderr=err))
        return code, err.getvalue()

    code, err = typed("staging\n", "migrate", "--env", "production")
    assert code == 2 and "Type its name to migrate" in err and "did not match 'production'" in err
    assert not database.exists("public.t") and not database.exists("public._migrations")
    code, err = typed("production\n", "migrate", "--env", "production")
    assert code == 0, err
    assert database.exists("public.t")
    code, err = typed("", "migrate", "--env", "production")
    assert code == 0 and "Type its name" not in err, "nothing pending: nothing to confirm"
    code, err = typed("production\n", "rollback-to", "20260101000009", "--env", "production")
    assert code == 2 and "unknown migration" in err and "Type its name" not in err, "checked before asking"
    code, err = typed("production\n", "rollback", "--env", "production")
    assert code == 0, err
    assert "will roll back 1: 20260101000001_t.sql" in err and "Type its name to roll back" in err
    assert not database.exists("public.t")
