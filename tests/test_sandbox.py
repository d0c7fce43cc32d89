"""The local sandbox: lifecycle, recovery, one database per project, the README's run path, stand-ins.

One sandbox (one initdb) serves the module; the README test makes its own on a fresh data folder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.core import sandbox as sandbox_mod
from app.core.errors import ServerError
from app.core.sandbox import Sandbox, database_name, sandbox_target
from app.paths import example_migrations_dir
from tests.conftest import run_cli, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX socket sandbox")


def _new_home() -> Path:
    # Not under pytest's tmp_path: another pytest session resets /tmp/pytest-of-USER to 0700,
    # which locks out the server's OS user (tidemark-pg when tests run as root).
    return Path(tempfile.mkdtemp(prefix="tm-sandbox-home-"))


def _remove_home(path: Path) -> None:
    Sandbox(path / "data" / "sandbox").server().remove()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    """A TIDEMARK_HOME of this module, its sandbox stopped and removed at the end."""
    path = _new_home()
    yield path
    _remove_home(path)


@pytest.fixture
def sb(home: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The module's sandbox, with TIDEMARK_HOME pointing at it for the CLI."""
    monkeypatch.setenv("TIDEMARK_HOME", str(home))
    return Sandbox()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, the working folder of the test."""
    p = tmp_path / "proj"
    p.mkdir()
    monkeypatch.chdir(p)
    return p


def _query(target_dsn: str, query: str) -> object:
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        row = conn.execute(query).fetchone()
        return row[0] if row else None


def test_database_names_are_per_folder_and_safe(tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "app", tmp_path / "two" / "app"
    assert database_name(a) != database_name(b), "two folders named app never share a database"
    assert database_name(a).startswith("app_") and len(database_name(a)) == len("app_") + 8
    weird = database_name(tmp_path / "My Project (v2)!")
    assert weird.startswith("my_project_v2_") and weird.replace("_", "").isalnum()
    assert database_name(tmp_path / "2026").startswith("p_2026_"), "no identifier starts with a digit"
    assert len(database_name(tmp_path / ("x" * 200))) <= 63


def test_readme_run_path_on_a_fresh_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _new_home()
    monkeypatch.setenv("TIDEMARK_HOME", str(home))
    project = tmp_path / "somewhere"
    project.mkdir()
    monkeypatch.chdir(project)
    try:
        r = run_cli("migrate")
        assert r.code == 0, r.stderr
        assert str(example_migrations_dir()) in r.stdout, "no migrations here: the bundled examples"
        assert "applied 3 migrations" in r.stdout
        r = run_cli("status")
        assert r.code == 0, r.stderr
        assert "3 migrations: 3 applied" in r.stdout and "health: HEALTHY" in r.stdout
        assert database_name(project) in r.stdout
        # The examples really ran, against the shim: RLS on, policies using auth.uid().
        target = sandbox_target()
        assert _query(target.dsn, "SELECT count(*) FROM pg_policies WHERE schemaname = 'public'") == 4
        assert _query(target.dsn, "SELECT relrowsecurity FROM pg_class WHERE oid = 'public.profiles'::regclass")
        # The project's own migrations win over the examples once they exist.
        (project / "migrations").mkdir()
        r = run_cli("status")
        assert r.code == 0 and str(project / "migrations") in r.stdout
    finally:
        _remove_home(home)


def test_start_reuse_stop_and_data_kept(sb: Sandbox, project: Path) -> None:
    first = sb.ensure_started()
    assert sb.running()
    assert sb.ensure_started() is False, "a running server is reused, not started twice"
    state = json.loads(sb.state_file.read_text())
    st = sb.status()
    assert st.running and state["port"] == st.port and state["pid"] == st.pid
    assert st.socket_dir is not None and (st.socket_dir.stat().st_mode & 0o077) == 0, "socket folder is private"
    target = sandbox_target()
    assert target.source == "sandbox" and database_name(project) in target.dsn
    assert "password" not in target.dsn
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    assert sb.stop() is True and not sb.running()
    assert sb.stop() is False
    assert sb.ensure_started() is True, "the GUI stops it on exit only when it started it"
    assert _query(sandbox_target().dsn, "SELECT to_regclass('public.kept') IS NOT NULL") is True
    assert isinstance(first, bool)


def test_listens_on_the_private_socket_only(sb: Sandbox, project: Path) -> None:
    sb.ensure_started()
    st = sb.status()
    assert st.port is not None
    srv = sb.server()
    assert not srv._port_taken(st.port), "no TCP listener: trust is safe only on the private socket"
    assert _query(sandbox_target().dsn, "SELECT current_setting('listen_addresses')") == ""


def test_stale_pid_file_is_removed(sb: Sandbox, project: Path) -> None:
    sb.ensure_started()
    target = sandbox_target()
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS survivor (id int)")
    sb.stop()
    pidfile = sb.cluster_dir / "postmaster.pid"
    # A pid that is alive but not a postgres (this test process), then one that is gone.
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    for pid in (os.getpid(), finished.pid):
        pidfile.write_text(f"{pid}\n{sb.cluster_dir}\n0\n5432\n\n\n\n")
        assert not sb.running()
        assert sb.ensure_started() is True
        assert _query(sandbox_target().dsn, "SELECT to_regclass('public.survivor') IS NOT NULL") is True
        sb.stop()


def test_killed_server_is_restarted(sb: Sandbox, project: Path) -> None:
    sb.ensure_started()
    target = sandbox_target()
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS before_kill (id int); INSERT INTO before_kill VALUES (1)")
    pid = sb.status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not sb.running(), "the killed server to be gone")
    r = run_cli("status")
    assert r.code == 0, r.stderr
    assert sb.running() and sb.status().pid != pid
    assert _query(sandbox_target().dsn, "SELECT count(*) FROM before_kill") == 1, "crash recovery kept the data"


def test_reset_needs_confirmation(sb: Sandbox, project: Path) -> None:
    target = sandbox_target()
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int)")
    r = run_cli("sandbox", "reset", stdin="no\n")
    assert r.code == 1 and "nothing was deleted" in r.stdout
    r = run_cli("sandbox", "reset", stdin="")
    assert r.code == 1, "no answer is no"
    assert _query(target.dsn, "SELECT to_regclass('public.precious') IS NOT NULL") is True
    r = run_cli("sandbox", "reset", stdin="yes\n")
    assert r.code == 0, r.stderr
    assert _query(target.dsn, "SELECT to_regclass('public.precious') IS NOT NULL") is False
    assert _query(target.dsn, "SELECT to_regclass('auth.users') IS NOT NULL") is True, "remade with the shim"
    r = run_cli("sandbox", "reset", "--yes")
    assert r.code == 0 and "dropped and remade" in r.stdout


def test_projects_never_see_each_others_history(sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    a, b = tmp_path / "a" / "app", tmp_path / "b" / "app"
    for p in (a, b):
        (p / "migrations").mkdir(parents=True)
        (p / "migrations" / "20260101000001_t.sql").write_text("CREATE TABLE t (id int);\n")
    monkeypatch.chdir(a)
    assert run_cli("migrate").code == 0
    monkeypatch.chdir(b)
    r = run_cli("status")
    assert r.code == 0 and "1 pending" in r.stdout
    st = sb.status()
    names = {name for name, _ in st.databases}
    assert {database_name(a), database_name(b)} <= names


def test_sandbox_cli_start_status_stop_psql(sb: Sandbox, project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    r = run_cli("sandbox", "start")
    assert r.code == 0 and database_name(project) in r.stdout
    r = run_cli("sandbox", "status")
    assert r.code == 0
    assert "state: running" in r.stdout and "stand-ins" in r.stdout and database_name(project) in r.stdout
    capfd.readouterr()
    r = run_cli("sandbox", "psql", "--", "-At", "-c", "SELECT current_database()")
    assert r.code == 0
    assert capfd.readouterr().out.strip() == database_name(project)
    r = run_cli("sandbox", "stop")
    assert r.code == 0 and "stopped" in r.stdout and not sb.running()
    r = run_cli("sandbox", "status")
    assert "state: stopped" in r.stdout


def test_init_without_supabase_and_stand_in_extensions(sb: Sandbox, project: Path) -> None:
    r = run_cli("sandbox", "init", "--no-supabase")
    assert r.code == 0, r.stderr
    dsn = sandbox_target().dsn
    assert _query(dsn, "SELECT to_regclass('auth.users') IS NOT NULL") is False
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute('CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pgcrypto')
        row = conn.execute(
            "SELECT uuid_generate_v4(), uuid_generate_v5(uuid_ns_dns(), 'www.example.com'), "
            "uuid_generate_v3(uuid_ns_url(), 'x'), uuid_generate_v1(), uuid_nil(), "
            "encode(digest('abc', 'sha1'), 'hex'), encode(digest('abc', 'sha256'), 'hex'), "
            "encode(hmac('data', 'key', 'sha256'), 'hex'), encode(hmac('data', repeat('k', 200), 'sha512'), 'hex'), "
            "length(gen_random_bytes(40))").fetchone()
        assert row is not None
        assert row[0].version == 4
        assert row[1] == uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com")
        assert row[2] == uuid.uuid3(uuid.NAMESPACE_URL, "x")
        assert row[3].version == 1 and row[4] == uuid.UUID(int=0)
        assert row[5] == hashlib.sha1(b"abc").hexdigest()
        assert row[6] == hashlib.sha256(b"abc").hexdigest()
        assert row[7] == hmac.new(b"key", b"data", "sha256").hexdigest()
        assert row[8] == hmac.new(b"k" * 200, b"data", "sha512").hexdigest()
        assert row[9] == 40
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="stand-in"):
            conn.execute("SELECT crypt('pw', gen_salt('bf'))")
    r = run_cli("sandbox", "init")
    assert r.code == 0 and "Supabase shim installed" in r.stdout
    assert _query(dsn, "SELECT to_regclass('auth.users') IS NOT NULL") is True


def test_unwritable_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("TIDEMARK_HOME", str(blocker))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServerError, match="not writable"):
        sandbox_target()
    r = run_cli("status")
    assert r.code == 2 and str(blocker / "data" / "sandbox") in r.stderr and "Traceback" not in r.stderr


def test_a_folder_that_is_not_a_cluster_is_never_touched(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path / "sb")
    sb.cluster_dir.mkdir(parents=True)
    (sb.cluster_dir / "notes.txt").write_text("mine")
    with pytest.raises(ServerError, match="holds no PostgreSQL cluster"):
        sb.ensure_started()
    assert (sb.cluster_dir / "notes.txt").read_text() == "mine"


def test_notes_name_the_stand_ins() -> None:
    from app.core.connect import Target

    assert sandbox_mod.notes_for(Target("", "--dsn")) == []
    notes = sandbox_mod.notes_for(Target("host=/x dbname=y", "sandbox"))
    assert any("stand-ins" in n for n in notes) and any("not Supabase" in n for n in notes)


def test_a_taken_port_is_not_reused_over_tcp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    sb = Sandbox(tmp_path / "sb")
    sb.root.mkdir(parents=True)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sb.state_file.write_text(json.dumps({"port": port}))
        monkeypatch.setattr(sandbox_mod, "TCP_ONLY", True)  # Windows: the server listens on TCP
        assert sb._previous_port() is None, "someone else has it now: pick another"
        monkeypatch.setattr(sandbox_mod, "TCP_ONLY", False)
        assert sb._previous_port() == port, "a socket-only server has no TCP port to collide on"


def test_status_before_the_sandbox_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    r = run_cli("sandbox", "status")
    assert r.code == 0 and "not created yet" in r.stdout
    assert not (tmp_path / "home" / "data" / "sandbox" / "pg18").exists(), "status creates nothing"
    r = run_cli("sandbox", "stop")
    assert r.code == 0 and "was not running" in r.stdout
