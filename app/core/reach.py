"""How a Target is reached: its SSH tunnel, its password source and its client key, for each connection.

`connect.connect` and pg_dump (`backup.client_command`) both ask `reach(target, params)` what to
add to the libpq parameters. Through a tunnel the real host name stays in `host` and the
loopback address goes to `hostaddr`: libpq connects to hostaddr but checks the server
certificate (verify-full) and .pgpass against host, and messages still name the real server.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.errors import UsageError

if TYPE_CHECKING:
    from app.core.connect import Target
    from app.core.tunnel import Tunnel


@dataclass(frozen=True)
class Reached:
    """Parameters to add to libpq's (hostaddr and port of the tunnel) and the password to use (None: libpq's)."""

    params: dict[str, str]
    password: str | None = field(default=None, repr=False)
    tunnel: Tunnel | None = None
    mark: int = 0  # how much ssh had written on stderr before this connection

    def hop_reason(self) -> str | None:
        """The forwarding failure ssh logged for this connection ('open failed: connect failed: ...')."""
        if self.tunnel is None:
            return None
        from app.core.tunnel import reason_lines

        failed = [ln for ln in reason_lines(self.tunnel.stderr_text(self.mark)) if "open failed" in ln]
        return failed[-1] if failed else None


def reach(target: Target, params: Mapping[str, object], env: Mapping[str, str] | None = None) -> Reached:
    """Check the client key, open or reuse the tunnel, run the password command: in that order.

    The key first: a refused key costs no tunnel and no token.
    """
    env = os.environ if env is None else env
    check_client_key(str(params.get("sslkey") or env.get("PGSSLKEY") or ""))
    extra: dict[str, str] = {}
    tunnel, mark = None, 0
    if target.ssh:
        from app.core.tunnel import open_tunnel

        tunnel = open_tunnel(target.ssh, remote_for(target, params, env))
        mark = tunnel.stderr_size()
        # hostaddr, not host: libpq checks the certificate and .pgpass against the real host name
        extra = {"hostaddr": "127.0.0.1", "port": str(tunnel.port)}
    password = target.password
    if target.password_command:
        from app.core.password_command import run_password_command

        password = run_password_command(target.password_command, _whose(target))
    return Reached(extra, password, tunnel, mark)


def close_tunnel(target: Target) -> bool:
    """Close the target's tunnel, if this process has one open (any thread may call it)."""
    if not target.ssh:
        return False
    from psycopg import conninfo

    from app.core.tunnel import close

    return close(target.ssh, remote_for(target, conninfo.conninfo_to_dict(target.dsn) if target.dsn else {}))


def remote_for(target: Target, params: Mapping[str, object], env: Mapping[str, str] | None = None) -> str:
    """The database as the last hop sees it (ssh's -L destination); UsageError where none can be told."""
    from app.core.tunnel import remote_of

    env = os.environ if env is None else env
    if params.get("service") or (not target.dsn and env.get("PGSERVICE")):
        raise UsageError(f"{target.source}: an SSH hop needs the database's host and port, and a libpq service "
                         "hides them: give host/port (or a DSN) instead of the service")
    host = str(params.get("hostaddr") or params.get("host") or env.get("PGHOSTADDR") or env.get("PGHOST") or "")
    port = str(params.get("port") or env.get("PGPORT") or "")
    if "," in host or "," in port:
        raise UsageError(f"{target.source}: an SSH hop leads to one server: give one host, not a list ({host})")
    return remote_of(host or None, port or None)


def check_client_key(path: str) -> None:
    """Refuse a client key that group or others may read, as libpq does, with the fix named."""
    if not path:
        return
    key = Path(path).expanduser()
    try:
        st = key.stat()
    except FileNotFoundError:
        raise UsageError(f"sslkey {key}: no such file (check the path in the profile, --dsn or PGSSLKEY)") from None
    except OSError as exc:
        raise UsageError(f"sslkey {key}: cannot read it: {exc.strerror or exc}") from None
    if os.name == "nt" or not stat.S_ISREG(st.st_mode):
        return  # libpq checks modes on POSIX only; a non-file is libpq's to report
    mode = stat.S_IMODE(st.st_mode)
    # libpq's rule: owned by us, no access for group or others (0600 or less); owned by root,
    # group may read (0640 or less).
    if st.st_uid == os.geteuid():
        bad, fix = mode & 0o077, f"chmod 600 {key}"
    elif st.st_uid == 0:
        bad, fix = mode & 0o037, f"chmod 640 {key} (or 600)"
    else:
        bad, fix = 0, ""
    if bad:
        raise UsageError(f"sslkey {key}: the private key can be read or changed by group or others (mode "
                         f"{mode:04o}), and libpq refuses such a key: run `{fix}`")


def access_problems(ssh: str | None, password_command: str | None) -> list[tuple[str | None, str]]:
    """(field, message) for a profile's ssh hop and password command that cannot be used."""
    from app.core.password_command import split_command
    from app.core.tunnel import parse_hop

    out: list[tuple[str | None, str]] = []
    for key, value, check in (("ssh", ssh, parse_hop), ("password_command", password_command, split_command)):
        if value:
            try:
                check(value, f"field {key!r}")
            except UsageError as exc:
                out.append((key, exc.message))
    return out


def _whose(target: Target) -> str:
    return f"environment {target.environment}" if target.environment else target.source
