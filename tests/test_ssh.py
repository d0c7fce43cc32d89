"""SSH tunnels against a real sshd (tests/sshd.py): migrate, status and rollback through one hop and
two (ProxyJump), pg_dump through the tunnel, host keys never accepted, no ssh left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from app.core import tunnel
from app.core.connect import Target, connect
from tests import sshd
from tests.conftest import run_cli, sleeping, wait_for

pytestmark = pytest.mark.skipif(not sshd.available(), reason="needs OpenSSH (Debian: openssh-server)")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server() -> Iterator[sshd.Sshd]:
    srv = sshd.start()
    yield srv
    srv.stop()


@pytest.fixture
def ssh_env(server: sshd.Sshd, monkeypatch: pytest.MonkeyPatch) -> Iterator[sshd.Sshd]:
    """TIDEMARK_SSH_CONFIG set to the test's config; no agent of the user's."""
    monkeypatch.setenv("TIDEMARK_SSH_CONFIG", str(server.config))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    yield server
    tunnel.close_all()


def db_port(dsn: str) -> int:
    return int(psycopg.conninfo.conninfo_to_dict(dsn)["port"])


def ssh_processes(port: int) -> list[psutil.Process]:
    """Running ssh processes that forward to 127.0.0.1:PORT (ours, or left behind by a child)."""
    found = []
    for p in psutil.process_iter(["name", "cmdline", "status"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] == "ssh" and f":127.0.0.1:{port}" in cmd and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p)
    return found


def test_migrate_status_rollback_through_one_hop(ssh_env, database, migrations) -> None:
    port = db_port(database.dsn)
    migrations.add("create_t", "CREATE TABLE t (id int);\n-- ROLLBACK: DROP TABLE t;\n")
    before = ssh_env.forwards_to(port)
    r = run_cli("migrate", "--dsn", database.dsn, "--ssh", "hop1", "--migrations-dir", migrations.path)
    assert r.code == 0, r.stderr
    assert database.exists("t")
    assert ssh_env.forwards_to(port) > before  # the connections went through sshd, not straight to the server
    assert not ssh_processes(port)  # the command closed its tunnel
    r = run_cli("status", "--dsn", database.dsn, "--ssh", "hop1", "--migrations-dir", migrations.path)
    assert r.code == 0, r.stderr
    assert "via ssh hop1" in r.stdout and f"127.0.0.1:{port}" in r.stdout  # the real server, and the hop
    r = run_cli("rollback", "--dsn", database.dsn, "--ssh", "hop1", "--migrations-dir", migrations.path, "-y")
    assert r.code == 0, r.stderr
    assert not database.exists("t")
    assert not ssh_processes(port)


def test_profile_with_two_hops_via_proxyjump(ssh_env, database, migrations) -> None:
    port = db_port(database.dsn)
    params = psycopg.conninfo.conninfo_to_dict(database.dsn)
    password = params.pop("password")
    name = "jump-" + database.name
    r = run_cli("env", "add", name, "--dsn", psycopg.conninfo.make_conninfo(**params), "--ssh", "hop2",
                "--password-command", f"printenv T_PW_{database.name}", "--no-protected")
    assert r.code == 0, r.stderr
    os.environ[f"T_PW_{database.name}"] = password
    try:
        migrations.add("create_t", "CREATE TABLE t (id int);\n")
        before = ssh_env.log_text().count("Accepted publickey")
        r = run_cli("migrate", "--env", name, "--migrations-dir", migrations.path)
        assert r.code == 0, r.stderr
        assert database.exists("t")
        # hop1 and then hop2 logged in: two logins for one tunnel, however many connections the run opened
        assert ssh_env.log_text().count("Accepted publickey") - before == 2
        r = run_cli("env", "test", name)
        assert r.code == 0, r.stderr
        assert "ssh:         hop2 through hop1 reached" in r.stdout, r.stdout
        assert "tunnel:" in r.stdout and "PostgreSQL" in r.stdout
    finally:
        os.environ.pop(f"T_PW_{database.name}", None)
        run_cli("env", "remove", name)
    assert not ssh_processes(port)


def test_connections_of_a_process_share_one_tunnel_and_pg_dump_uses_it(ssh_env, database) -> None:
    from app.core.backup import backup

    port = db_port(database.dsn)
    target = Target(database.dsn, "--dsn", ssh="hop1")
    with connect(target) as a, connect(target) as b:
        assert a.info.hostaddr == "127.0.0.1" and a.info.port == b.info.port != port
        assert a.info.host == "127.0.0.1"  # the host libpq checks certificates against stays the real one
    assert len(ssh_processes(port)) == 1
    before = ssh_env.forwards_to(port)
    result = backup(target, root=Path(ssh_env.root) / "backups")
    assert result.path.stat().st_size > 0
    assert ssh_env.forwards_to(port) > before  # pg_dump's connections went through sshd
    assert len(ssh_processes(port)) == 1
    from app.core.reach import close_tunnel

    assert close_tunnel(target) and not close_tunnel(target)  # what the app calls when it leaves the target
    assert not ssh_processes(port)


def test_unknown_host_key_is_refused_and_nothing_changes(ssh_env, database, migrations) -> None:
    migrations.add("create_t", "CREATE TABLE t (id int);\n")
    r = run_cli("migrate", "--dsn", database.dsn, "--ssh", "stranger", "--migrations-dir", migrations.path)
    assert r.code == 2, r.stderr
    line = r.stderr.strip()
    assert "SSH hop stranger" in line and f"[127.0.0.1]:{ssh_env.port}" in line and "not in known_hosts" in line
    assert "`ssh stranger`" in line and "fingerprint" in line and len(line.splitlines()) == 1
    assert ssh_env.empty_known_hosts.read_text() == ""  # nothing was added to known_hosts
    assert not database.exists("_migrations") and not database.exists("t")
    assert not ssh_processes(db_port(database.dsn))


def test_a_jump_host_to_blame_is_named(ssh_env, database) -> None:
    r = run_cli("status", "--dsn", database.dsn, "--ssh", "via-stranger")
    assert r.code == 2
    assert r.stderr.startswith("error: SSH hop stranger (jump 1 of 1): the host key of "), r.stderr
    assert ssh_env.empty_known_hosts.read_text() == ""


def test_changed_host_key_is_refused(ssh_env, database, tmp_path, monkeypatch) -> None:
    other = (ssh_env.root / "other_key.pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{ssh_env.port} {other[0]} {other[1]}\n")
    config = tmp_path / "ssh_config"
    # `moved` is hop1 with a known_hosts that holds another key for the same server
    config.write_text(f"Host moved\n  UserKnownHostsFile {known}\n"
                      + ssh_env.config.read_text().replace("Host hop1\n", "Host hop1 moved\n", 1))
    monkeypatch.setenv("TIDEMARK_SSH_CONFIG", str(config))
    r = run_cli("status", "--dsn", database.dsn, "--ssh", "moved")
    assert r.code == 2
    assert "SSH hop moved" in r.stderr and "has CHANGED" in r.stderr and "ssh-keygen -R" in r.stderr
    assert known.read_text().count("\n") == 1


@pytest.mark.parametrize(("hop", "reason"), [("nokey", "Permission denied"), ("closed", "Connection refused")])
def test_ssh_failures_name_the_hop_and_ssh_s_reason(ssh_env, database, hop, reason) -> None:
    r = run_cli("status", "--dsn", database.dsn, "--ssh", hop)
    assert r.code == 2
    assert r.stderr.startswith(f"error: SSH hop {hop}: ") and reason in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_hop_is_a_usage_error(database) -> None:
    r = run_cli("status", "--dsn", database.dsn, "--ssh", "-oProxyCommand=touch /tmp/x")
    assert r.code == 2 and "is not an SSH hop" in r.stderr


def test_no_ssh_left_after_a_failed_migration(ssh_env, database, migrations) -> None:
    migrations.add("broken", "CREATE TABLE t (id int);\nSELECT * FROM nowhere;\n")
    r = run_cli("migrate", "--dsn", database.dsn, "--ssh", "hop1", "--migrations-dir", migrations.path)
    assert r.code == 1, r.stderr
    assert "nowhere" in r.stderr
    assert not ssh_processes(db_port(database.dsn))


def _cli_process(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A session of its own, as a job in a terminal: a terminal's Ctrl-C reaches its whole foreground group.
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.parametrize("how", ["ctrl-c", "kill -9"])
def test_no_ssh_left_after_ctrl_c_or_kill(ssh_env, database, migrations, how) -> None:
    port = db_port(database.dsn)
    migrations.add("slow", "SELECT pg_sleep(60);\n")
    configs = set(Path(tempfile.gettempdir()).glob("tidemark-ssh-*.conf"))
    proc = _cli_process("migrate", "--dsn", database.dsn, "--ssh", "hop1", "--migrations-dir", str(migrations.path))
    try:
        wait_for(lambda: sleeping(database), "the migration to be running through the tunnel")
        assert len(ssh_processes(port)) == 1
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the CLI's group, ssh's is its own
        else:
            proc.kill()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == (130 if how == "ctrl-c" else -9)
        if how == "ctrl-c":  # the tunnel outlived the Ctrl-C long enough to check what committed
            assert "slow.sql did not commit: nothing of it remains" in err and "not known" not in err, err
        wait_for(lambda: not ssh_processes(port), "the tunnel's ssh to end", timeout=15)
        assert set(Path(tempfile.gettempdir()).glob("tidemark-ssh-*.conf")) <= configs  # its config file gone too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_database_the_hop_cannot_reach_names_ssh_s_reason(ssh_env, database) -> None:
    params = psycopg.conninfo.conninfo_to_dict(database.dsn)
    params.pop("password")
    params["port"] = "1"  # nothing listens there, as the hop sees it
    dsn = psycopg.conninfo.make_conninfo(**params)
    r = run_cli("status", "--dsn", dsn, "--ssh", "hop1")
    assert r.code == 2
    assert "via ssh hop1" in r.stderr and "SSH hop hop1: channel" in r.stderr and "Connection refused" in r.stderr
    name = "unreached-" + database.name
    assert run_cli("env", "add", name, "--dsn", dsn, "--ssh", "hop1").code == 0
    try:
        r = run_cli("env", "test", name)
        assert r.code == 2
        assert "SSH hop hop1 reached, but 127.0.0.1:1 cannot be reached through it" in r.stderr, r.stderr
        assert "Connection refused" in r.stderr
    finally:
        run_cli("env", "remove", name)


def test_a_unix_socket_on_the_hop_is_forwarded(ssh_env, database) -> None:
    if database.server.local is None or database.server.local.socket_dir is None:
        pytest.skip("needs a server started by the tests, with a socket folder")
    dsn = database.server.local.socket_dsn(database.name)
    with connect(Target(dsn, "--dsn", ssh="hop1")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (database.name,)
        assert conn.info.hostaddr == "127.0.0.1"
    assert any(t.remote.endswith("/.s.PGSQL." + str(database.server.local.port)) for t in tunnel.open_tunnels())


def test_threads_share_one_tunnel_and_a_dead_one_is_reopened(ssh_env, database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    port = db_port(database.dsn)
    target = Target(database.dsn, "--dsn", ssh="hop1")

    def one(_: int) -> int:
        with connect(target) as conn:
            return conn.info.port

    with ThreadPoolExecutor(4) as pool:
        ports = set(pool.map(one, range(8)))
    assert len(ports) == 1 and len(ssh_processes(port)) == 1
    old = tunnel.open_tunnels()[0]
    old.process.terminate()  # ssh gone (a network change): the next connection opens a new tunnel
    old.process.wait(timeout=10)
    assert one(0) > 0
    (new,) = tunnel.open_tunnels()
    assert new.process.pid != old.process.pid and new.alive()
    assert len(ssh_processes(port)) == 1
