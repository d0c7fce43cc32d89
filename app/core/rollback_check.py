"""Every generated rollback of a folder of migrations, checked on a database: the rehearsal's loop
without the copy, for the rollback corpus (benchmarks/rollback_corpus.py) and the engine's tests.

Each migration is applied, its rollback run (a "manual" one's too: its refusal must change
nothing), the catalog compared with the one before it, and the migration applied again for the
next one. What the check asks of the engine (issue 16, "never wrong"): no rollback that ran and
left the catalog different, no refusal or failed rollback that changed the catalog, no file that
PostgreSQL runs and Tidemark does not. What stays manual is counted by the statement behind it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pglast import ast

from app.core import history
from app.core.connect import Target, connect
from app.core.errors import TidemarkError
from app.core.options import Options
from app.core.rehearse import (
    DIFFERS,
    FAILED,
    MANUAL,
    NOT_REACHED,
    NOT_RUN,
    REFUSED_CHANGED,
    VERIFIED,
    RehearsedMigration,
    roll_back_each,
)
from app.core.runner import MigrationRunner
from app.core.sql import Statement, parse_file

_LINE = re.compile(r"^line (\d+): ")


@dataclass
class FolderCheck:
    """What the rollbacks of one folder came to on one server."""

    migrations: list[RehearsedMigration] = field(default_factory=list)
    manual_kinds: dict[str, str] = field(default_factory=dict)  # migration name -> statement kind behind it

    def count(self, rollback: str) -> int:
        """How many came to `rollback` (VERIFIED, MANUAL...)."""
        return sum(1 for m in self.migrations if m.rollback == rollback)

    @property
    def apply_failures(self) -> list[RehearsedMigration]:
        """Files that did not apply (PostgreSQL would have run them: the sets are real projects')."""
        return [m for m in self.migrations if m.apply_error is not None]

    @property
    def wrong(self) -> list[RehearsedMigration]:
        """Rollbacks that ran without error and left the catalog different."""
        return [m for m in self.migrations if m.rollback == DIFFERS]

    @property
    def refused_but_changed(self) -> list[RehearsedMigration]:
        """Rollbacks that failed or were refused, and changed the catalog all the same."""
        return [m for m in self.migrations if m.rollback == REFUSED_CHANGED]

    @property
    def failed(self) -> list[RehearsedMigration]:
        """Rollbacks that stopped with an error and changed nothing (a clean refusal at run time)."""
        return [m for m in self.migrations if m.rollback == FAILED]

    def kinds(self) -> Counter[str]:
        """The statement kinds behind the manual rollbacks, counted."""
        return Counter(self.manual_kinds.values())

    def summary(self) -> dict[str, int]:
        """The counts a report prints."""
        return {"files": len(self.migrations), "verified": self.count(VERIFIED), "manual": self.count(MANUAL),
                "wrong": len(self.wrong), "refused_but_changed": len(self.refused_but_changed),
                "failed": len(self.failed), "apply_failures": len(self.apply_failures),
                "not_tried": self.count(NOT_REACHED) + self.count(NOT_RUN)}


def check_folder(target: Target, migrations_dir: Path, options: Options | None = None, *,
                 say: Callable[[str], None] | None = None) -> FolderCheck:
    """Apply, roll back, compare and reapply each pending migration of `migrations_dir` on `target`."""
    say = say or (lambda _text: None)
    options = options or Options()
    runner = MigrationRunner(target, migrations_dir, options)
    files = {f.version: f for f in runner.files()}
    pending = runner.get_migration_status().pending
    with connect(target) as conn:
        history.ensure_tables(conn)  # as the first migrate would; not part of the snapshots
    out = FolderCheck(roll_back_each(target, migrations_dir, options, pending, say, check_refusals=True))
    for m in out.migrations:
        if m.rollback == MANUAL and m.version in files:
            f = files[m.version]
            out.manual_kinds[m.name] = manual_kind(f.text, f.path, m.rollback_note)
    return out


def manual_kind(text: str, path: Path, note: str) -> str:
    """The kind of the statement a manual rollback's note names ('line 12: ...'), e.g. 'UPDATE'."""
    found = _LINE.match(note)
    if not found:
        return "(no statement named)"
    line = int(found.group(1))
    try:
        statements = parse_file(text, path)
    except TidemarkError:
        return "(unparsed)"
    st = next((s for s in statements if s.line == line), None)
    if st is None:
        st = next((s for s in reversed(statements) if s.line <= line), None)
    return statement_kind(st) if st is not None else "(no statement named)"


_NAMES = {"InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE", "TruncateStmt": "TRUNCATE",
          "DoStmt": "DO", "SelectStmt": "SELECT", "CreateFunctionStmt": "CREATE FUNCTION", "ViewStmt": "CREATE VIEW",
          "CreateStmt": "CREATE TABLE", "IndexStmt": "CREATE INDEX", "RenameStmt": "RENAME",
          "CreateTrigStmt": "CREATE TRIGGER", "CreateEnumStmt": "CREATE TYPE AS ENUM", "CommentStmt": "COMMENT",
          "GrantStmt": "GRANT", "CreateSchemaStmt": "CREATE SCHEMA", "CreateSeqStmt": "CREATE SEQUENCE",
          "AlterSeqStmt": "ALTER SEQUENCE", "CreateExtensionStmt": "CREATE EXTENSION", "CallStmt": "CALL",
          "CreateTableAsStmt": "CREATE TABLE AS", "AlterFunctionStmt": "ALTER FUNCTION",
          "AlterOwnerStmt": "ALTER OWNER", "AlterObjectSchemaStmt": "SET SCHEMA", "CreatePolicyStmt": "CREATE POLICY",
          "AlterPolicyStmt": "ALTER POLICY", "CompositeTypeStmt": "CREATE TYPE", "CreateDomainStmt": "CREATE DOMAIN",
          "AlterDomainStmt": "ALTER DOMAIN", "VariableSetStmt": "SET", "LockStmt": "LOCK", "MergeStmt": "MERGE"}


def statement_kind(st: Statement) -> str:
    """A readable kind: `ALTER TABLE DROP COLUMN`, `DROP FUNCTION`, `ALTER TYPE ADD VALUE`, `UPDATE`."""
    node = st.node
    if isinstance(node, ast.AlterTableStmt):
        subs = sorted({_enum_name(c.subtype).removeprefix("AT_") for c in node.cmds or ()
                       if isinstance(c, ast.AlterTableCmd)})
        return "ALTER TABLE " + "+".join(subs)
    if isinstance(node, ast.DropStmt):
        return "DROP " + _enum_name(node.removeType).removeprefix("OBJECT_").replace("_", " ")
    if isinstance(node, ast.AlterEnumStmt):
        return "ALTER TYPE RENAME VALUE" if node.oldVal else "ALTER TYPE ADD VALUE"
    if isinstance(node, ast.SelectStmt) and node.intoClause is not None:
        return "SELECT INTO"
    if isinstance(node, ast.RenameStmt):
        return "RENAME " + _enum_name(node.renameType).removeprefix("OBJECT_").replace("_", " ")
    return _NAMES.get(st.kind, st.kind)


def _enum_name(value: object) -> str:
    return getattr(value, "name", str(value))
