"""A migration made ready to run (parsed, checked, its rollback planned) and what every step
of a run shares (connection, actor, batch, options, cancel token, progress)."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from pglast import ast

from app.core import verify
from app.core.files import MigrationFile
from app.core.guards import Checked, check
from app.core.history import Actor
from app.core.options import Options
from app.core.progress import CancelToken, Clock, Phase, ProgressCallback, ProgressEvent
from app.core.rollback import Inverse, RollbackPlan, Step, assemble, plan_steps
from app.core.sql import Statement, parse_files


@dataclass
class Prepared:
    """A migration file parsed and checked, ready to run."""

    file: MigrationFile
    statements: list[Statement]
    steps: list[Step]
    wrapper_removed: bool
    verify: list[Statement] = field(default_factory=list)  # Sqitch's verify script (app.core.verify)

    @property
    def non_transactional_reason(self) -> str | None:
        """Why it runs outside a transaction, or None."""
        if self.file.directives.no_transaction:
            return f"declared with {self.file.directives.no_transaction_by}"
        for st in self.statements:
            if st.non_transactional:
                return f"{st.non_transactional} (line {st.line})"
        return None

    @property
    def changes_session(self) -> bool:
        """True when a statement changes session settings that would outlive the migration, or may: a DO
        block or CALL can run SET or set_config out of sight (EXECUTE). (A SELECT calling a function that
        does is not seen here: such files stay pipelined.)"""
        for st in self.statements:
            if isinstance(st.node, ast.VariableSetStmt) and not st.node.is_local:
                return True
            if isinstance(st.node, ast.DoStmt | ast.CallStmt):
                return True
            if "set_config" in st.text.lower():
                return True
        return False

    @property
    def drops_prepared_statements(self) -> bool:
        """True when it runs DEALLOCATE or DISCARD, which drop the session's prepared statements."""
        return any(isinstance(st.node, ast.DeallocateStmt | ast.DiscardStmt) for st in self.statements)

    @property
    def transactional(self) -> bool:
        """True when it runs in one transaction with its history row."""
        return self.non_transactional_reason is None

    def static_rollback(self) -> RollbackPlan:
        """The rollback as known before running (catalog reads shown as comments)."""
        inverses = [
            s.inverse if s.inverse is not None else Inverse((f"-- {s.read.describe}",) if s.read else ())
            for s in self.steps
        ]
        return assemble(self.statements, inverses, self.file.directives.custom_rollback)


def prepare(file: MigrationFile | Checked) -> Prepared:
    """Parse a file with PostgreSQL's parser and plan its rollback (checking it first); nothing runs."""
    return prepare_many([file if isinstance(file, Checked) else check(file)])[0]


def prepare_many(checked: list[Checked]) -> list[Prepared]:
    """prepare for several checked files (parsed together: see sql.parse_files)."""
    parsed = parse_files([(c.file.forward, c.file.path) for c in checked])
    out = []
    for c, statements in zip(checked, parsed, strict=True):
        if c.wrapped:
            statements = statements[1:-1]
        out.append(Prepared(c.file, statements, plan_steps(statements), c.wrapped, verify.statements(c.file)))
    return out


@dataclass
class Context:
    """What every step of a run shares."""

    conn: psycopg.Connection
    actor: Actor
    batch_id: str
    options: Options
    cancel: CancelToken
    progress: ProgressCallback
    verbose: bool = False
    run_clock: Clock | None = None

    def emit(self, phase: Phase, **kw: object) -> None:
        """Report progress."""
        run_ms = self.run_clock.ms() if self.run_clock else 0.0
        self.progress(ProgressEvent(phase, run_elapsed_ms=run_ms, **kw))  # type: ignore[arg-type]
