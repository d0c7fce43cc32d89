"""Rollback generation: invert a migration statement by statement, in reverse order.

The rule: the generated rollback restores the catalog exactly as it was before the
migration, or the migration is "manual". Where the earlier state matters (CREATE OR
REPLACE over an existing object, DROP of something whose definition can be read...), the
runner asks the catalog just before the statement runs, in the same transaction, through a
`CatalogRead` that this package provides; where the statement itself picks a name (an index
or constraint without one), a second read right after it (`Step.after`) finds it.

Names: the parse tree says what a statement touches; every lookup goes through
`to_regclass`-style lookups (`_proc_oid` for functions), which follow the session's search_path at
that moment (and return NULL rather than fail). Inverses keep names as the file wrote them;
when the file changes search_path, each inverse runs under the path its statement ran under.
"""

from app.core.rollback.creation_schema import catalog_names, settled
from app.core.rollback.dispatch import plan_steps, step_for
from app.core.rollback.model import (
    DEFAULT_PATH,
    NOTHING,
    CatalogRead,
    Inverse,
    RollbackKind,
    RollbackPlan,
    Step,
    assemble,
)
from app.core.rollback.names import deparse, ident, literal
from app.core.rollback.search_path import replace_node

__all__ = [
    "DEFAULT_PATH", "NOTHING", "CatalogRead", "Inverse", "RollbackKind", "RollbackPlan", "Step", "assemble",
    "catalog_names", "deparse", "ident", "literal", "plan_steps", "replace_node", "settled", "step_for",
]
