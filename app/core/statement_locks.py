"""The table locks a statement takes: read from its parse tree, and for dry runs from the
catalog (what only the catalog can tell: a dropped foreign key's referenced table, partitions)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from pglast import ast, enums

from app.core.sql import has_option

if TYPE_CHECKING:
    import psycopg

    from app.core.sql import Statement

AT = enums.AlterTableType
OT = enums.ObjectType

class LockMode(IntEnum):
    """PostgreSQL's table lock modes, weakest first (as in lockdefs.h)."""

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def label(self) -> str:
        """As PostgreSQL's documentation writes it: ACCESS EXCLUSIVE."""
        return self.name.replace("_", " ")

    @property
    def blocks_reads(self) -> bool:
        """True when plain SELECTs on the relation wait for it."""
        return self is LockMode.ACCESS_EXCLUSIVE

    @property
    def blocks_writes(self) -> bool:
        """True when INSERT/UPDATE/DELETE on the relation wait for it."""
        return self >= LockMode.SHARE


@dataclass(frozen=True)
class Lock:
    """A lock a statement takes: mode on relation."""

    relation: str
    mode: LockMode
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.mode.label} on {self.relation}"
        return f"{text} ({self.note})" if self.note else text

def qualified(rv: ast.RangeVar | None, default_schema: str | None = None) -> str:
    """`schema.name` of a RangeVar (the default schema where none is written)."""
    if rv is None:
        return "?"
    schema = rv.schemaname or default_schema
    return f"{schema}.{rv.relname}" if schema else rv.relname


def _names(seq: tuple | list | None) -> str:
    return ".".join(n.sval for n in seq or () if isinstance(n, ast.String))


_AT_LEVEL: dict[AT, LockMode] = {
    AT.AT_SetStatistics: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_SetOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ClusterOn: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DropCluster: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_SetRelOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetRelOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ValidateConstraint: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_AttachPartition: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DetachPartitionFinalize: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_EnableTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableAlwaysTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableReplicaTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableTrigAll: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigAll: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableTrigUser: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigUser: LockMode.SHARE_ROW_EXCLUSIVE,
}


def _alter_table_locks(node: ast.AlterTableStmt, schema: str | None) -> list[Lock]:
    target = qualified(node.relation, schema)
    level = LockMode.SHARE_UPDATE_EXCLUSIVE
    others: list[Lock] = []
    notes: set[str] = set()
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        mode = _AT_LEVEL.get(cmd.subtype, LockMode.ACCESS_EXCLUSIVE)
        if cmd.subtype == AT.AT_DetachPartition and getattr(cmd.def_, "concurrent", False):
            mode = LockMode.SHARE_UPDATE_EXCLUSIVE
        if (
            cmd.subtype == AT.AT_AddConstraint
            and isinstance(cmd.def_, ast.Constraint)
            and cmd.def_.contype == enums.ConstrType.CONSTR_FOREIGN
        ):
            mode = LockMode.SHARE_ROW_EXCLUSIVE
            others.append(Lock(qualified(cmd.def_.pktable, schema), mode, "referenced table"))
        if cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            for c in cmd.def_.constraints or ():
                if isinstance(c, ast.Constraint) and c.contype == enums.ConstrType.CONSTR_FOREIGN:
                    others.append(
                        Lock(qualified(c.pktable, schema), LockMode.SHARE_ROW_EXCLUSIVE, "referenced table")
                    )
        if cmd.subtype == AT.AT_DropConstraint:
            notes.add("if it is a foreign key, its referenced table too")
        if cmd.subtype in (AT.AT_AttachPartition, AT.AT_DetachPartition):
            part = getattr(cmd.def_, "name", None)
            if isinstance(part, ast.RangeVar):
                others.append(Lock(qualified(part, schema), LockMode.ACCESS_EXCLUSIVE, "partition"))
        level = max(level, mode)
    kind = "view" if node.objtype in (OT.OBJECT_VIEW, OT.OBJECT_MATVIEW) else ""
    note = "; ".join(sorted({kind, *notes} - {""}))
    return [Lock(target, level, note), *others]


def statement_locks(node: ast.Node, schema: str | None = None) -> list[Lock]:
    """The table-level locks a statement takes, strongest on each relation."""
    q = lambda rv: qualified(rv, schema)  # noqa: E731
    L = LockMode
    match node:
        case ast.AlterTableStmt():
            return _alter_table_locks(node, schema)
        case ast.IndexStmt():
            mode = L.SHARE_UPDATE_EXCLUSIVE if node.concurrent else L.SHARE
            note = "concurrent build: writes go on" if node.concurrent else "blocks writes while it builds"
            return [Lock(q(node.relation), mode, note)]
        case ast.CreateStmt():
            locks = []
            for elt in node.tableElts or ():
                cons = [*(getattr(elt, "constraints", None) or ())]
                if isinstance(elt, ast.Constraint):
                    cons.append(elt)
                for c in cons:
                    if isinstance(c, ast.Constraint) and c.contype == enums.ConstrType.CONSTR_FOREIGN:
                        locks.append(Lock(q(c.pktable), L.SHARE_ROW_EXCLUSIVE, "referenced table"))
            for parent in node.inhRelations or ():
                if isinstance(parent, ast.RangeVar):
                    mode = L.ACCESS_EXCLUSIVE if node.partbound else L.SHARE_UPDATE_EXCLUSIVE
                    locks.append(Lock(q(parent), mode, "parent table"))
            return locks
        case ast.DropStmt():
            if node.removeType in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE,
                                   OT.OBJECT_FOREIGN_TABLE):
                return [Lock(_names(o), L.ACCESS_EXCLUSIVE) for o in node.objects or ()]
            if node.removeType == OT.OBJECT_INDEX:
                mode = L.SHARE_UPDATE_EXCLUSIVE if node.concurrent else L.ACCESS_EXCLUSIVE
                return [Lock(_names(o), mode, "index, and its table") for o in node.objects or ()]
            if node.removeType in (OT.OBJECT_TRIGGER, OT.OBJECT_POLICY, OT.OBJECT_RULE):
                # objects are (schema?, table, name): the lock is on the table (CREATE TRIGGER takes
                # SHARE ROW EXCLUSIVE, but DROP TRIGGER takes ACCESS EXCLUSIVE)
                return [Lock(_names(o[:-1]), L.ACCESS_EXCLUSIVE) for o in node.objects or () if len(o) > 1]
            return []
        case ast.RenameStmt() | ast.AlterObjectSchemaStmt() | ast.AlterOwnerStmt():
            if getattr(node, "relation", None) is not None:
                return [Lock(q(node.relation), L.ACCESS_EXCLUSIVE)]
            return []
        case ast.TruncateStmt():
            return [Lock(q(r), L.ACCESS_EXCLUSIVE) for r in node.relations or ()]
        case ast.InsertStmt() | ast.UpdateStmt() | ast.DeleteStmt() | ast.MergeStmt():
            return [Lock(q(node.relation), L.ROW_EXCLUSIVE, "row locks on the rows it changes")]
        case ast.VacuumStmt():
            full = has_option(node.options, "full")
            mode = L.ACCESS_EXCLUSIVE if full else L.SHARE_UPDATE_EXCLUSIVE
            rels = [v.relation for v in node.rels or () if isinstance(v, ast.VacuumRelation)]
            return [Lock(q(r), mode) for r in rels] or [Lock("every table", mode)]
        case ast.ClusterStmt():
            return [Lock(q(node.relation), L.ACCESS_EXCLUSIVE)] if node.relation else []
        case ast.ReindexStmt():
            conc = has_option(node.params, "concurrently")
            if node.relation is None:
                return []
            if node.kind == enums.ReindexObjectType.REINDEX_OBJECT_INDEX:
                mode = L.SHARE_UPDATE_EXCLUSIVE if conc else L.ACCESS_EXCLUSIVE
                return [Lock(q(node.relation), mode, "index")]
            return [Lock(q(node.relation), L.SHARE_UPDATE_EXCLUSIVE if conc else L.SHARE)]
        case ast.RefreshMatViewStmt():
            return [Lock(q(node.relation), L.EXCLUSIVE if node.concurrent else L.ACCESS_EXCLUSIVE)]
        case ast.CreateTrigStmt():
            return [Lock(q(node.relation), L.SHARE_ROW_EXCLUSIVE)]
        case ast.CreatePolicyStmt() | ast.AlterPolicyStmt():
            return [Lock(q(node.table), L.ACCESS_EXCLUSIVE)]
        case ast.RuleStmt():
            return [Lock(q(node.relation), L.ACCESS_EXCLUSIVE)]
        case ast.ViewStmt():
            return [Lock(q(node.view), L.ACCESS_EXCLUSIVE, "view")] if node.replace else []
        case ast.LockStmt():
            return [Lock(q(r), LockMode(node.mode)) for r in node.relations or ()]
        case ast.CommentStmt():
            if node.objtype in (OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_COLUMN):
                obj = node.object
                names = _names(obj[:-1] if node.objtype == OT.OBJECT_COLUMN else obj)
                return [Lock(names, L.SHARE_UPDATE_EXCLUSIVE)]
            return []
        case ast.AlterSeqStmt():
            return [Lock(q(node.sequence), L.SHARE_ROW_EXCLUSIVE)]
        case ast.SelectStmt():
            return []
    return []


def annotate_locks(statements: list[Statement], default_schema: str | None) -> None:
    """Fill in each statement's locks (for dry runs), resolving unqualified names."""
    for st in statements:
        st.locks = [
            Lock(lk.relation if "." in lk.relation or lk.relation in ("?", "every table")
                 else f"{default_schema}.{lk.relation}" if default_schema else lk.relation,
                 lk.mode, lk.note)
            for lk in statement_locks(st.node, default_schema)
        ]


_FK_REFERENCED = """
SELECT format('%%I.%%I', n.nspname, r.relname) FROM pg_constraint c
JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE c.conrelid = to_regclass(%s) AND c.conname = %s AND c.contype = 'f'
"""
_PARTITIONS = """
SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_partition_tree(to_regclass(%s)) t
JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.level > 0 AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def catalog_locks(conn: psycopg.Connection, statements: list[Statement]) -> None:
    """Add the locks only the catalog can tell (dry runs): the table a dropped foreign key
    references, the partitions an index on a partitioned table is built on. Objects made by
    earlier pending migrations are not there yet: nothing is added for them."""
    for st in statements:
        node = st.node
        if isinstance(node, ast.AlterTableStmt):
            table = next((lk.relation for lk in st.locks), None)
            for cmd in node.cmds or ():
                if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == AT.AT_DropConstraint and table:
                    for (ref,) in conn.execute(_FK_REFERENCED, (table, cmd.name)).fetchall():
                        st.locks.append(Lock(ref, LockMode.ACCESS_EXCLUSIVE, "referenced by the dropped foreign key"))
        elif isinstance(node, ast.IndexStmt) and st.locks:
            mode = st.locks[0].mode
            parts = [r[0] for r in conn.execute(_PARTITIONS, (st.locks[0].relation,)).fetchall()]
            for part in parts[:20]:
                st.locks.append(Lock(part, mode, "partition"))
            if len(parts) > 20:
                st.locks.append(Lock(f"{len(parts) - 20} more partitions", mode, "partition"))
