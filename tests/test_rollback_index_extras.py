"""Dropping an index, or the constraint an index belongs to, is undone with what its definition leaves out:
the index's comment, storage options, CLUSTER mark, replica identity and statistics targets."""

from __future__ import annotations

import pytest

from app.core.catalog import diff, snapshot
from tests.conftest import Database, MigrationDir
from tests.rollback_round_trip import round_trip

BASE = "CREATE TABLE q (id int NOT NULL, n int, m int, t text);"

CASES = [  # what was set up, the migration, what its rollback must say
    ("ALTER TABLE q ADD CONSTRAINT q_pk PRIMARY KEY (id); COMMENT ON INDEX q_pk IS 'qpk';",
     "ALTER TABLE q DROP CONSTRAINT q_pk", "COMMENT ON INDEX public.q_pk IS 'qpk'"),
    ("ALTER TABLE q ADD CONSTRAINT q_pk PRIMARY KEY (id); ALTER TABLE q CLUSTER ON q_pk;",
     "ALTER TABLE q DROP CONSTRAINT q_pk", "CLUSTER ON q_pk"),
    ("ALTER TABLE q ADD CONSTRAINT q_u UNIQUE (n); ALTER INDEX q_u SET (fillfactor = 70);",
     "ALTER TABLE q DROP CONSTRAINT q_u", "ALTER INDEX public.q_u SET (fillfactor=70)"),
    ("ALTER TABLE q ADD CONSTRAINT q_pk PRIMARY KEY (id); ALTER TABLE q REPLICA IDENTITY USING INDEX q_pk;",
     "ALTER TABLE q DROP CONSTRAINT q_pk", "REPLICA IDENTITY USING INDEX q_pk"),
    ("CREATE UNIQUE INDEX q_id ON q (id); ALTER TABLE q REPLICA IDENTITY USING INDEX q_id;",
     "DROP INDEX q_id", "REPLICA IDENTITY USING INDEX q_id"),
    ("CREATE INDEX q_low ON q (lower(t)); ALTER INDEX q_low ALTER COLUMN 1 SET STATISTICS 300;",
     "DROP INDEX q_low", "ALTER COLUMN 1 SET STATISTICS 300"),
    ("CREATE UNIQUE INDEX q_id ON q (id);", "ALTER TABLE q REPLICA IDENTITY USING INDEX q_id",
     "REPLICA IDENTITY DEFAULT"),
    ("ALTER TABLE q REPLICA IDENTITY FULL;", "ALTER TABLE q REPLICA IDENTITY NOTHING", "REPLICA IDENTITY FULL"),
    ("CREATE INDEX q_n ON q (n); CREATE INDEX q_m ON q (m); ALTER TABLE q CLUSTER ON q_n;",
     "ALTER TABLE q CLUSTER ON q_m", "CLUSTER ON q_n"),
    ("CREATE INDEX q_n ON q (n); ALTER TABLE q CLUSTER ON q_n;", "ALTER TABLE q SET WITHOUT CLUSTER",
     "CLUSTER ON q_n"),
    ("CREATE INDEX q_n ON q (n);", "ALTER TABLE q CLUSTER ON q_n", "SET WITHOUT CLUSTER"),
]


@pytest.mark.parametrize(("setup", "sql", "says"), CASES, ids=[f"{c[1]}-{c[2]}"[:60] for c in CASES])
def test_what_an_index_definition_leaves_out_comes_back(database: Database, migrations: MigrationDir,
                                                          setup: str, sql: str, says: str) -> None:
    database.execute(BASE + setup)
    stored = round_trip(database, migrations, sql + ";")
    assert says in stored


def test_the_snapshot_sees_replica_identity_and_statistics_of_an_index(database: Database) -> None:
    """Without these the check above could not fail: the catalog compare must see them change."""
    database.execute(BASE + "CREATE UNIQUE INDEX q_id ON q (id); CREATE INDEX q_low ON q (lower(t));")
    with database.connect() as conn:
        before = snapshot(conn)
        conn.execute("ALTER TABLE q REPLICA IDENTITY USING INDEX q_id")
        conn.execute("ALTER INDEX q_low ALTER COLUMN 1 SET STATISTICS 300")
        changed = {d.key for d in diff(before, snapshot(conn))}
    assert {"index public.q_id", "index public.q_low"} <= changed
