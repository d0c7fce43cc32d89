"""Tidemark's lint rules: what each finds, how bad it is, and the safer way."""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Rule:
    """One rule: its severity, what is wrong, and the safer way."""

    id: str
    severity: str
    message: str
    fix: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("not-null-column-without-default", ERROR,
         "adds a NOT NULL column without a default to an existing table: fails on any row, or needs a rewrite",
         "add it nullable (or with a constant DEFAULT), backfill in batches, then add a CHECK (col IS NOT NULL) "
         "NOT VALID, VALIDATE it, and SET NOT NULL"),
    Rule("default-rewrites-table", ERROR,
         "adds a column with a volatile default (or a generated column): rewrites the whole table under "
         "ACCESS EXCLUSIVE",
         "add the column without a default, backfill in batches, then SET DEFAULT for new rows"),
    Rule("index-not-concurrent", ERROR,
         "builds an index on an existing table without CONCURRENTLY: writes to the table wait until it is built",
         "CREATE INDEX CONCURRENTLY (Tidemark runs it outside a transaction)"),
    Rule("drop-index-not-concurrent", WARNING,
         "drops an index without CONCURRENTLY: takes ACCESS EXCLUSIVE on its table",
         "DROP INDEX CONCURRENTLY"),
    Rule("reindex-not-concurrent", ERROR,
         "reindexes without CONCURRENTLY: blocks writes (and reads that use the index) until done",
         "REINDEX ... CONCURRENTLY"),
    Rule("column-type-change", ERROR,
         "changes a column's type: ACCESS EXCLUSIVE, and most changes rewrite the table and its indexes",
         "add a new column, backfill it, switch readers and writers, then drop the old one"),
    Rule("rename-column", ERROR,
         "renames a column: running clients that use the old name break at once",
         "add the new column (or a view), deploy code that uses it, then drop the old name later"),
    Rule("rename-table", ERROR,
         "renames a table: running clients that use the old name break at once",
         "create a view with the old name while clients move, or rename in a release of its own"),
    Rule("drop-column", WARNING,
         "drops a column: running clients that still read or write it break",
         "first deploy code that no longer uses it, then drop it in a later migration"),
    Rule("drop-table", WARNING,
         "drops a table: running clients that still use it break, and its data is gone",
         "first deploy code that no longer uses it, keep a backup, then drop it in a later migration"),
    Rule("drop-database", ERROR, "drops a database", "do not drop databases from a migration"),
    Rule("constraint-without-not-valid", ERROR,
         "adds a constraint that is checked against every row while writes (or reads) wait",
         "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later migration (it takes a weaker lock)"),
    Rule("unique-constraint-builds-index", ERROR,
         "adds a UNIQUE/PRIMARY KEY constraint that builds its index under ACCESS EXCLUSIVE",
         "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX"),
    Rule("add-serial-column", ERROR,
         "adds a serial or primary key column to an existing table: rewrites it under ACCESS EXCLUSIVE",
         "add a nullable column, backfill in batches, build the unique index concurrently, then add the key"),
    Rule("set-not-null", ERROR,
         "SET NOT NULL on an existing column scans the whole table under ACCESS EXCLUSIVE",
         "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT c, then SET NOT NULL "
         "(PostgreSQL 12+ skips the scan) and drop the check"),
    Rule("truncate-cascade", ERROR,
         "TRUNCATE ... CASCADE also empties every table that references it",
         "truncate the tables you mean, by name"),
    Rule("missing-lock-timeout", WARNING,
         "takes ACCESS EXCLUSIVE on an existing table with no lock_timeout: if it waits behind a long query, "
         "every query on the table queues behind it",
         "SET lock_timeout = '5s' at the top of the file (or run migrate --lock-timeout 5s --retries 3)"),
    Rule("vacuum-full", ERROR,
         "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: no reads or writes until done",
         "plain VACUUM, or pg_repack / pg_squeeze outside migrations"),
    Rule("cluster", ERROR,
         "CLUSTER rewrites the table under ACCESS EXCLUSIVE: no reads or writes until done",
         "pg_repack outside migrations"),
    Rule("refresh-not-concurrent", WARNING,
         "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view until done",
         "REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view)"),
)}

# Rules about a table that exists before the run: silent for tables the run itself creates.
TABLE_RULES = {
    "not-null-column-without-default", "default-rewrites-table", "index-not-concurrent", "column-type-change",
    "rename-column", "rename-table", "drop-column", "drop-table", "constraint-without-not-valid",
    "unique-constraint-builds-index", "add-serial-column", "set-not-null", "missing-lock-timeout",
    "reindex-not-concurrent", "vacuum-full", "cluster", "drop-index-not-concurrent",
}
