"""`env test`: connect to a target and check what migrations need (privileges), with timings."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from app.core.connect import Target
from app.core.place import Place


@dataclass(frozen=True)
class TunnelCheck:
    """The SSH steps of `env test`: the hop reached (ssh logged in, forwarding), then the database port answering."""

    hop: str
    jumps: tuple[str, ...]  # ProxyJump hosts before it, first first
    remote: str  # the database as the hop sees it
    local_port: int
    ssh_ms: float
    tunnel_ms: float
    reused: bool = False  # this process had it open already (ssh_ms then says nothing of the hop)


@dataclass(frozen=True)
class EnvironmentCheck:
    """What `env test` found: server, login, privileges migrations need, and round-trip time."""

    environment: str
    target: str
    server_version: str
    current_user: str
    database: str
    is_superuser: bool
    missing_privileges: tuple[str, ...]
    connect_ms: float
    latency_ms: float
    tunnel: TunnelCheck | None = None  # the SSH hop's steps, when the target has one

    @property
    def ok(self) -> bool:
        """True when migrations can run with this login."""
        return not self.missing_privileges

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "missing_privileges": list(self.missing_privileges), "ok": self.ok}


def hop_lines(check: EnvironmentCheck) -> list[str]:
    """The SSH steps as `env test` and the app's Test connection say them (none without a hop)."""
    t = check.tunnel
    if t is None:
        return []
    reused = "already open" if t.reused else f"{t.ssh_ms:.0f} ms"
    through = f" through {', '.join(t.jumps)}" if t.jumps else ""
    return [f"ssh:         {t.hop}{through} reached, forwarding 127.0.0.1:{t.local_port} ({reused})",
            f"tunnel:      {t.remote} answers through it ({t.tunnel_ms:.0f} ms)"]


def test_target(target: Target) -> EnvironmentCheck:
    """Connect to a target (e.g. an unsaved profile in a dialog) and check it."""
    from app.core.connect import connect

    hop = check_tunnel(target)
    started = time.perf_counter()
    with connect(target) as conn:
        connect_ms = (time.perf_counter() - started) * 1000
        trips = []
        for _ in range(3):
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            trips.append((time.perf_counter() - t0) * 1000)
        checks = privilege_checks(target.place)
        row = conn.execute(_check_sql(checks)).fetchone()
    assert row is not None
    version, user, db, superuser, *grants = row
    missing = tuple(label for (label, _), granted in zip(checks, grants, strict=True) if not granted)
    return EnvironmentCheck(target.environment or "", target.display(), version, user, db, bool(superuser),
                            missing, round(connect_ms, 1), round(statistics.median(trips), 2), hop)


def check_tunnel(target: Target) -> TunnelCheck | None:
    """Each hop apart: SSH reached (the tunnel listening), then the database port answering through it."""
    if not target.ssh:
        return None
    from psycopg import conninfo

    from app.core import tunnel
    from app.core.reach import remote_for

    remote = remote_for(target, conninfo.conninfo_to_dict(target.dsn) if target.dsn else {})
    reused = any(t.hop.text == target.ssh and t.remote == remote for t in tunnel.open_tunnels())
    chain = tunnel.jumps(target.ssh)
    t0 = time.perf_counter()
    t = tunnel.open_tunnel(target.ssh, remote)
    t1 = time.perf_counter()
    tunnel.probe(t)
    t2 = time.perf_counter()
    return TunnelCheck(target.ssh, tuple(chain), remote, t.port, round((t1 - t0) * 1000, 1),
                       round((t2 - t1) * 1000, 1), reused)


test_target.__test__ = False  # type: ignore[attr-defined]


# --- privileges migrations need ---------------------------------------------------------------------

def _history_table_checks(place: Place) -> list[tuple[str, str]]:
    from app.core.history import AUDIT, MIGRATIONS, ROLLBACKS

    checks = []
    for logical in (MIGRATIONS, ROLLBACKS, AUDIT):
        table = place.qualify(logical)
        for priv in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            if logical == AUDIT and priv in ("UPDATE", "DELETE"):
                continue
            checks.append((f"{priv} on {table}", f"CASE WHEN to_regclass('{table}') IS NULL THEN true "
                           f"ELSE has_table_privilege('{table}', '{priv}') END"))
    return checks


def _schema_check(schema: str, priv: str) -> tuple[str, str]:
    literal = schema.replace("'", "''")
    return (f"{priv} on schema {schema}", f"CASE WHEN to_regnamespace('{literal}') IS NULL THEN false "
            f"ELSE has_schema_privilege('{literal}', '{priv}') END")


def privilege_checks(place: Place) -> list[tuple[str, str]]:
    """(label, SQL expression) of what migrations need where this target keeps its history and runs.

    A schema target creates its objects and history in its own schema and still resolves what is
    shared through public (extensions' types and functions), so it needs USAGE and CREATE on its
    schema and USAGE on public; a plain target needs both on public.
    """
    schemas = [_schema_check(place.schema, "USAGE"), _schema_check(place.schema, "CREATE")]
    if not place.is_public:
        schemas.append(_schema_check("public", "USAGE"))
    return [("CREATE on the database", "has_database_privilege(current_database(), 'CREATE')"),
            *schemas, *_history_table_checks(place)]


def _check_sql(checks: list[tuple[str, str]]) -> str:
    # CASE, not AND/OR: has_*_privilege on a missing object raises, and SQL does not short-circuit.
    return ("SELECT current_setting('server_version'), current_user::text, current_database()::text, "
            "current_setting('is_superuser') = 'on', " + ", ".join(expr for _, expr in checks))
