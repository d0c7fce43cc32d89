"""Sqitch's verify scripts (`verify/<change>.sql`), run after the change's deploy, before its history row.

Sqitch's convention: a verify script fails by raising an error (`SELECT 1/count(*) ...`, a
missing column in a `SELECT ... WHERE false`); it usually wraps itself in BEGIN ... ROLLBACK
so it leaves nothing behind. Tidemark runs its statements inside the migration's own
transaction, between a savepoint and a rollback to it: whatever the script does is undone, and
an error fails the migration, so a transactional change is rolled back with its verify and the
run stops. Outside a transaction the deploy has already committed; its verify runs in the
history row's transaction, so a failure leaves it not recorded (and says so).

Sqitch runs verify on deploy only when asked (`deploy --verify`); Tidemark runs it by default,
because a script the team wrote to check a deploy costs a few reads inside a transaction that
is open anyway, and a failing check found after COMMIT is a worse place to find it.
`verify = false` in tidemark.toml turns it off.
"""

from __future__ import annotations

from pathlib import Path

from app.core.errors import FileProblem, MigrationFileError, ServerErrorInfo
from app.core.failures import not_run
from app.core.files import MigrationFile
from app.core.script import Script
from app.core.sql import Statement, parse_file

SAVEPOINT = "SAVEPOINT tidemark_verify"
UNDO = "ROLLBACK TO SAVEPOINT tidemark_verify"
RELEASE = "RELEASE SAVEPOINT tidemark_verify"
_OPENING = ("TRANS_STMT_BEGIN", "TRANS_STMT_START")
_CLOSING = ("TRANS_STMT_ROLLBACK", "TRANS_STMT_COMMIT")
_SAVEPOINTS = ("TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO")


def _kind(st: Statement) -> str | None:
    kind = getattr(st.node, "kind", None) if st.kind == "TransactionStmt" else None
    return getattr(kind, "name", None) or (str(kind) if kind is not None else None)


def statements(file: MigrationFile) -> list[Statement]:
    """The verify script's statements, its own BEGIN ... ROLLBACK removed (MigrationFileError naming
    the script and line for a syntax error or transaction control in its middle)."""
    if file.verify_text is None or file.verify_path is None:
        return []
    path = file.verify_path
    body = parse_file(file.verify_text, path)
    if body and _kind(body[0]) in _OPENING:
        body = body[1:]
    if body and _kind(body[-1]) in _CLOSING:
        body = body[:-1]
    for st in body:
        kind = _kind(st)
        if kind is not None and kind not in _SAVEPOINTS:
            raise MigrationFileError([FileProblem(
                path, f"transaction control inside a verify script: {st.first_line}", st.line,
                hint="Tidemark runs the verify inside the change's transaction and undoes it; remove it")])
    return body


def add(script: Script, checks: list[Statement]) -> None:
    """The verify statements, between a savepoint and a rollback to it (nothing of them remains)."""
    if not checks:
        return
    script.add(SAVEPOINT, None)
    for st in checks:
        script.add(st.text, st, st.start)
    script.add(UNDO, None)
    script.add(RELEASE, None)


def failed_by(checks: list[Statement], unit: object) -> bool:
    """True when the statement that failed is one of the verify script's."""
    return any(unit is st for st in checks)


def summary(file: MigrationFile, info: ServerErrorInfo, transactional: bool, revert: Path | None,
            later: int = 0) -> str:
    """What a failed verify means, naming the script and its line (`later`: migrations that were to run after)."""
    where = f"{file.verify_path}" + (f" line {info.line}" if info.line else "")
    said = f"its verify script failed at {where}: {info.message}"
    if transactional:
        return f"{file.name}: {said}; the deploy was rolled back with it, nothing of it remains" + not_run(later, ", ")
    undo = f"run {revert} by hand or fix the database" if revert else "undo it by hand"
    return (f"{file.name} ran outside a transaction and its changes stay, but {said}; it is not recorded as "
            f"applied{not_run(later, ' and')}: {undo}, then migrate again")
