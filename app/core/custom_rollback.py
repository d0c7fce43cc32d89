"""Give a "manual" migration its rollback SQL in one step: write the `-- ROLLBACK BEGIN` ...
`-- ROLLBACK END` block into its file and record it with `repair`.

Used by the app's rollback dialog when a rollback in range is manual (the CLI says how to do
the same by hand). The block's lines are commented out (`-- DROP ...`), as directives.read_directives
reads them, so no tool that runs the file forward ever runs them. The file keeps its BOM and
line endings; the write is atomic, and when the repair is refused (protection, the lock, the
file's layout not reading the block) the file is put back byte for byte: the step is whole or
nothing. The repair goes through the runner, inside its lock, where protection is enforced.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import TidemarkError, UsageError
from app.core.progress import CancelToken
from app.core.protection import Confirmation
from app.core.results import RepairResult
from app.core.runner import MigrationRunner
from app.core.sql import parse_file
from app.core.status import RollbackKind, State

BEGIN, END = "-- ROLLBACK BEGIN", "-- ROLLBACK END"


@dataclass(frozen=True)
class BlockPlan:
    """The manual migration whose file gets the block: where it is, why it is manual, its text now."""

    version: str
    name: str
    path: Path
    why_manual: str
    data: bytes  # the file as it is on disk (put back if the step is refused)

    @property
    def text(self) -> str:
        """The file's text as written (BOM and line endings kept)."""
        return self.data.decode("utf-8")

    def new_text(self, rollback_sql: str) -> str:
        """The file with the block appended, in the file's own line endings."""
        return with_rollback_block(self.text, rollback_sql)

    def diff(self, rollback_sql: str) -> str:
        """A unified diff of the file, as it is and as it will be written."""
        old = self.text.replace("\r\n", "\n").lstrip("\ufeff")
        new = self.new_text(rollback_sql).replace("\r\n", "\n").lstrip("\ufeff")
        return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                            fromfile=f"{self.name} (now)", tofile=f"{self.name} (with its rollback)"))


def with_rollback_block(text: str, rollback_sql: str) -> str:
    """`text` with a `-- ROLLBACK BEGIN` ... `-- ROLLBACK END` block of `rollback_sql` at its end."""
    nl = "\r\n" if "\r\n" in text else "\n"
    lines = rollback_sql.replace("\r\n", "\n").strip("\n").split("\n")
    block = [BEGIN, *(f"-- {line}".rstrip() for line in lines), END]
    body = text if not text or text.endswith(("\n", "\r")) else text + nl
    return body + nl.join(block) + nl


def plan_block(runner: MigrationRunner, name: str) -> BlockPlan:
    """The applied migration `name` whose rollback is manual, ready for its block (UsageError if it is not)."""
    files = runner.files()
    status = runner.get_migration_status()
    version = runner.resolve_name(name, files, status)
    m = next((x for x in status.migrations if x.version == version), None)
    f = next((x for x in files if x.version == version), None)
    if m is None or f is None or m.state not in (State.APPLIED, State.MODIFIED):
        raise UsageError(f"{name}: not an applied migration with its file on disk; nothing to give a rollback to")
    if m.state is State.MODIFIED:
        raise UsageError(f"{m.name}: the file changed since it was applied; accept or undo that change first "
                         "(Repair), so that only the rollback block is recorded now")
    if m.rollback_kind != RollbackKind.MANUAL.value:
        raise UsageError(f"{m.name}: its rollback is {m.rollback_kind}, not manual; nothing to write")
    return BlockPlan(m.version, m.name, f.path, m.rollback_note or "no rollback SQL is known",
                     f.path.read_bytes())


def check_rollback_sql(plan: BlockPlan, rollback_sql: str) -> str:
    """The SQL as it will be stored, or UsageError naming what is wrong with it (nothing is written)."""
    sql = rollback_sql.replace("\r\n", "\n").strip()
    if not sql:
        raise UsageError(f"{plan.name}: the rollback SQL is empty; write the statements that undo the migration")
    if any(line.strip().upper().startswith(("-- ROLLBACK", "--ROLLBACK")) for line in sql.split("\n")):
        raise UsageError(f"{plan.name}: the rollback SQL may not hold '-- ROLLBACK' lines itself")
    parse_file(sql + "\n", Path(f"{plan.name} (rollback SQL)"))  # a syntax error names its line and column
    return sql


def write_and_record(runner: MigrationRunner, plan: BlockPlan, rollback_sql: str, reason: str, *,
                     cancel: CancelToken | None = None, confirmed: Confirmation | None = None) -> RepairResult:
    """Write the block into the file and record it (repair, with `reason`), or change nothing."""
    if not reason.strip():
        raise UsageError("recording the rollback needs a reason: it goes into the audit trail")
    sql = check_rollback_sql(plan, rollback_sql)
    if plan.path.read_bytes() != plan.data:
        raise UsageError(f"{plan.name}: the file changed on disk since the dialog read it; open the dialog again")
    _write_atomic(plan.path, plan.new_text(sql).encode("utf-8"))
    try:
        written = next((f for f in runner.files() if f.version == plan.version), None)
        got = written.directives.custom_rollback if written is not None else None
        if got is None or got.strip() != sql:
            raise UsageError(f"{plan.name}: this folder's layout does not read a '-- ROLLBACK BEGIN' block as the "
                             "rollback; write the rollback where the layout keeps it (its down section or file)")
        candidates = [c for c in runner.repair_candidates(plan.name) if c.version == plan.version]
        return runner.repair(candidates, reason, cancel=cancel, confirmed=confirmed)
    except (TidemarkError, OSError, KeyboardInterrupt):
        _write_atomic(plan.path, plan.data)  # the step is whole or nothing: the file as it was
        raise


def _write_atomic(path: Path, data: bytes) -> None:
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
