"""Finding and opening the database connection, the way a DBA and a CI job expect.

Precedence: an explicit DSN, then a named environment (profile), then `DATABASE_URL`, then
the libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSERVICE...), then the local
sandbox. libpq itself reads PGPASSWORD, PGPASSFILE/.pgpass, PGSSLMODE and pg_service.conf.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import psycopg
from psycopg import conninfo

from app import __version__
from app.core.deadline import WatchedConnection
from app.core.errors import ConnectionFailed, PasswordNeeded, UsageError, redact
from app.core.place import PUBLIC, Place

LIBPQ_TARGET_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE")


@dataclass(frozen=True)
class Target:
    """Where to connect, and how it was chosen. `dsn` may hold no password: libpq finds it."""

    dsn: str
    source: str  # "--dsn", "environment NAME", "DATABASE_URL", "PG* variables", "sandbox"
    environment: str | None = None
    password: str | None = field(default=None, repr=False)  # from the keyring, never printed
    protected: bool = False
    # Keyword-only, so positional construction (of EnvironmentTarget too) keeps its meaning.
    ssh: str | None = field(default=None, kw_only=True)  # [user@]host[:port] or a Host alias
    password_command: str | None = field(default=None, kw_only=True)  # its stdout is the password
    # A schema target (ENV/SCHEMA): history, lock and search_path in that schema (app/core/place.py).
    schema: str | None = field(default=None, kw_only=True)

    @property
    def place(self) -> Place:
        """Where this target's history lives (PUBLIC unless it is a schema target)."""
        return Place(self.schema) if self.schema else PUBLIC

    def display(self) -> str:
        """`user@host:port/db` built from parsed fields (the real server, not the tunnel): never a password."""
        return describe_dsn(self.dsn) + (f" via ssh {self.ssh}" if self.ssh else "")


def describe_dsn(dsn: str) -> str:
    """A display name for a connection string, built from its fields."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparsable connection string)"
    env = os.environ
    if "service" in params or (not dsn and env.get("PGSERVICE")):
        return f"service {params.get('service') or env.get('PGSERVICE')}"
    user = params.get("user") or env.get("PGUSER") or ""
    host = params.get("host") or env.get("PGHOST") or "localhost"
    port = params.get("port") or env.get("PGPORT") or "5432"
    db = params.get("dbname") or env.get("PGDATABASE") or user or ""
    if host.startswith("/"):
        host = f"[{host}]"
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


# libpq's TCP keepalives (idle 10 s, then 4 probes 5 s apart) and, for data sent but never
# acknowledged, tcp_user_timeout (ms); ignored on a Unix socket.
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "4",
              "tcp_user_timeout": "30000"}

SandboxResolver = Callable[[], Target]
EnvironmentResolver = Callable[[str], Target]


def resolve_target(
    dsn: str | None = None,
    environment: str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    environments: EnvironmentResolver | None = None,
    sandbox: SandboxResolver | None = None,
    ssh: str | None = None,
    password_command: str | None = None,
) -> Target:
    """Choose the connection by the documented precedence; `ssh`/`password_command` override the choice's."""
    target = _choose(dsn, environment, os.environ if env is None else env, environments,
                     None if (ssh or password_command) else sandbox, not (ssh or password_command))
    if ssh:
        from app.core.tunnel import parse_hop

        parse_hop(ssh, "--ssh")
    if password_command:
        from app.core.password_command import split_command

        split_command(password_command, "--password-command")
    if ssh or password_command:
        target = replace(target, ssh=ssh or target.ssh, password_command=password_command or target.password_command)
    return target


def _choose(dsn: str | None, environment: str | None, env: Mapping[str, str],
            environments: EnvironmentResolver | None, sandbox: SandboxResolver | None,
            sandbox_allowed: bool = True) -> Target:
    if dsn:
        _check_dsn(dsn, "--dsn")
        return Target(dsn, "--dsn")
    if environment:
        if environments is None:
            raise UsageError(f"environment {environment!r}: environments are not available here")
        return environments(environment)
    url = env.get("DATABASE_URL")
    if url:
        _check_dsn(url, "DATABASE_URL")
        return Target(url, "DATABASE_URL")
    if any(env.get(v) for v in LIBPQ_TARGET_VARS):
        return Target("", "PG* variables")
    if sandbox is not None:
        return sandbox()
    raise UsageError(
        "no database to connect to: give --dsn postgresql://user@host/db, --environment NAME, "
        "or set DATABASE_URL or PGHOST/PGDATABASE" + ("" if sandbox_allowed else
                                                      " (--ssh and --password-command do not apply to the sandbox)")
    )


def _check_dsn(dsn: str, where: str) -> None:
    try:
        conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"{where} is not a valid connection string: {redact(str(exc))}") from None


def connect(target: Target, *, autocommit: bool = True, connect_timeout: int = 10) -> psycopg.Connection:
    """Open a connection; a failure is a one-line ConnectionFailed naming the target."""
    kwargs: dict[str, object] = {
        "autocommit": autocommit,
        "application_name": f"tidemark {__version__}",
        # psycopg would prepare a query run 5 times under a name of its own (_pg3_0...), which a
        # pooler's next client on the same server session could clash with; Tidemark prepares
        # only its history INSERT, under names it drops (lock.release).
        "prepare_threshold": None,
    }
    params = conninfo.conninfo_to_dict(target.dsn) if target.dsn else {}
    if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = connect_timeout
    # A server that vanished (cable, VPN, failover) is noticed in about 30 s, not hours later;
    # what the user set wins. A silent middle box is deadline.py's part.
    for name, value in KEEPALIVES.items():
        if name not in params:
            kwargs[name] = value
    from app.core.reach import reach

    reached = reach(target, params)  # the tunnel, the password command, the client key check
    kwargs.update(reached.params)
    if reached.password is not None:
        kwargs["password"] = reached.password
    place = target.place
    options = place.startup_options()
    if options:  # after the user's own options, so the tenant's search_path wins
        kwargs["options"] = f"{params['options']} {options}" if params.get("options") else options
    try:
        conn = WatchedConnection.connect(target.dsn, **kwargs)
        conn.tidemark_place = place  # what history, lock and status read (place_of)
        if options:
            _check_search_path(conn, target)
        return conn
    except psycopg.OperationalError as exc:
        message = _explain(exc, target)
        said = reached.hop_reason()  # libpq only sees the loopback end close: ssh knows why
        message += f" (SSH hop {target.ssh}: {said})" if said else ""
        text = str(exc)
        if not target.password_command and ("no password supplied" in text or exc.sqlstate == "28P01"
                                            or "password authentication failed" in text):
            # The app can ask for one; the CLI says the same line as before.
            raise PasswordNeeded(message, rejected="no password supplied" not in text) from None
        raise ConnectionFailed(message) from None


def _libpq_reason(text: str) -> str:
    """libpq's reason in one line: 'Connection refused (is the server running ...?)'.

    Its message reads 'connection to server at "h" (addr), port 5432 failed: REASON' with hints
    on tab-indented lines; several addresses give several such lines: keep the last reason.
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "connection failed"
    reasons = [ln.rsplit(" failed: ", 1)[1] for ln in lines if " failed: " in ln]
    hints = [ln for ln in lines if " failed: " not in ln and not ln.startswith("connection ")]
    reason = reasons[-1] if reasons else lines[-1]
    return f"{reason} ({hints[-1]})" if hints and hints[-1] != reason else reason


def libpq_message(exc: BaseException) -> str:
    """libpq's whole message on one line, redacted: its tab-indented hint lines in brackets.

    A lost connection reads 'terminating connection due to administrator command', 'server
    closed the connection unexpectedly', then the hint over two indented lines: the last line
    alone ('before or while processing the request.') says nothing.
    """
    groups: list[tuple[str, list[str]]] = []
    for raw in redact(str(exc)).splitlines():
        line = raw.strip()
        if line and raw[:1].isspace() and groups:
            groups[-1][1].append(line)
        elif line:
            groups.append((line, []))
    text = "; ".join(f"{head} ({' '.join(hint)})" if hint else head for head, hint in groups)
    return text or "server closed the connection"


def _check_search_path(conn: psycopg.Connection, target: Target) -> None:
    """A schema target's session must run in its schema: a pooler told to ignore the `options`
    startup parameter (PgBouncer's ignore_startup_parameters) drops it without a word, and the
    files would then run in public while the history says the tenant's schema."""
    place = target.place
    row = conn.execute("SELECT pg_catalog.current_setting('search_path')").fetchone()
    got = row[0] if row else ""
    if [part.strip() for part in got.split(",")] != [part.strip() for part in (place.search_path or "").split(",")]:
        conn.close()
        raise ConnectionFailed(
            f"cannot run on {target.display()} schema {place.schema}: the session's search_path is "
            f"{got!r}, not {place.search_path!r} (something between Tidemark and the server, such as a "
            "pooler ignoring the 'options' startup parameter, dropped it); nothing ran: connect schema targets "
            "directly or through a pooler that passes 'options'")


def _explain(exc: psycopg.OperationalError, target: Target) -> str:
    where = target.display()
    text = redact(str(exc)).strip()
    last = _libpq_reason(text)
    sqlstate = getattr(exc, "sqlstate", None)
    if "unsupported startup parameter" in text and "options" in text and not target.place.is_public:
        return (f"cannot connect to {where}: {last}; a schema target sets its search_path with the 'options' "
                "startup parameter, which this pooler refuses: connect schema targets directly (or through a "
                "pooler that passes 'options'); nothing ran")
    if (sqlstate == "28P01" or "password authentication failed" in text) and target.password_command:
        return (f"cannot log in to {where}: password authentication failed with the password command's "
                "output (is the token for this host, port and user, and not expired?)")
    if sqlstate == "28P01" or "password authentication failed" in text:
        return (
            f"cannot log in to {where}: password authentication failed "
            f"(check the password: keyring, PGPASSWORD or ~/.pgpass; chosen from {target.source})"
        )
    if "no password supplied" in text:
        return (
            f"cannot log in to {where}: the server asks for a password and none was found "
            "(store it with `tidemark env add`, or set PGPASSWORD or ~/.pgpass)"
        )
    if sqlstate == "3D000" or "does not exist" in text:
        return f"cannot connect to {where}: {last}"
    return f"cannot connect to {where} (from {target.source}): {last}"


def session_setup(conn: psycopg.Connection) -> list[str]:
    """Settings of the runner's own session (after connecting, and after a migration's RESET ALL)."""
    # The server's side of the keepalives: a client gone silent (a partition) has its session,
    # its open transaction and the migration lock ended within about 30 s, not two hours.
    out = ["SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 4"]
    if conn.info.server_version >= 120000:
        out.append("SET tcp_user_timeout = 30000")
    if conn.info.server_version >= 140000:
        # A killed client's backend then aborts within a second instead of running on,
        # holding the migration lock, until its statement ends.
        out.append("SET client_connection_check_interval = 1000")
    return out
