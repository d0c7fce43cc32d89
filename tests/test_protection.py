"""The one rule (app.core.protection): no change to a protected target without its confirmation.

The engine enforces it inside the lock, so a caller that forgets to ask (a script, a later
command, the desktop app) is refused there, with nothing changed.
"""

from __future__ import annotations

import pytest

from app.core.connect import Target
from app.core.dirs import data_dir
from app.core.protection import Action, ProtectionRequired, confirm, requirement
from app.core.runner import MigrationRunner
from tests.conftest import Database, MigrationDir


def _prod(db: Database) -> Target:
    return Target(db.dsn, "environment prod", "prod-" + db.name, protected=True)


def _nothing_applied(db: Database) -> bool:
    return not db.exists("public.t") and not db.exists("public._migrations")


def _backups(target: Target) -> list:
    folder = data_dir() / "backups" / str(target.environment)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_every_change_to_a_protected_target_is_refused_without_a_confirmation(
        database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n-- ROLLBACK: DROP TABLE t;\n")
    runner = MigrationRunner(_prod(database), migrations.path)
    with pytest.raises(ProtectionRequired, match="protected environment: migrate needs a confirmation"):
        runner.run_migrations()
    assert _nothing_applied(database) and _backups(runner.target) == []
    with pytest.raises(ProtectionRequired, match="baseline needs"):
        runner.baseline(migrations.path.glob("*.sql").__next__().name, force=True)
    assert not database.exists("public._migrations")

    # Applied with its confirmation, then rollback and repair need theirs too.
    need = requirement(runner.target, Action.MIGRATE)
    runner.run_migrations(confirmed=confirm(need, typed=need.name))
    assert database.exists("public.t")
    with pytest.raises(ProtectionRequired, match="roll back needs"):
        runner.rollback_migrations(count=1)
    assert database.exists("public.t")
    f = next(migrations.path.glob("*.sql"))
    f.write_text(f.read_text() + "-- a comment\n")
    candidates = runner.repair_candidates()
    with pytest.raises(ProtectionRequired, match="repair needs"):
        runner.repair(candidates, "reviewed")
    assert runner.repair_candidates()  # still changed: nothing accepted


def test_a_confirmation_is_for_one_action_on_one_target_once(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n-- ROLLBACK: DROP TABLE t;\n")
    target = _prod(database)
    runner = MigrationRunner(target, migrations.path)
    migrate = requirement(target, Action.MIGRATE)
    with pytest.raises(ProtectionRequired, match="did not match"):
        confirm(migrate, typed="production")
    other = Target(database.dsn, "environment prod", "prod-other", protected=True)
    with pytest.raises(ProtectionRequired, match="for another database"):
        runner.run_migrations(confirmed=confirm(requirement(other, Action.MIGRATE), typed="prod-other"))
    with pytest.raises(ProtectionRequired, match="for another action"):
        runner.run_migrations(confirmed=confirm(requirement(target, Action.ROLLBACK), typed=migrate.name))
    assert _nothing_applied(database)

    once = confirm(migrate, typed=migrate.name, no_backup=True)
    runner.run_migrations(confirmed=once)
    migrations.add("u", "CREATE TABLE u (id int);\n")
    with pytest.raises(ProtectionRequired, match="already used"):
        runner.run_migrations(confirmed=once)
    assert not database.exists("public.u")


def test_what_runs_must_be_what_was_confirmed(database: Database, migrations: MigrationDir) -> None:
    first = migrations.add("t", "CREATE TABLE t (id int);\n")
    target = _prod(database)
    runner = MigrationRunner(target, migrations.path)
    seen = [m.name for m in runner.run_migrations(dry_run=True).planned]
    assert seen == [first.name]
    need = requirement(target, Action.MIGRATE)
    confirmed = confirm(need, typed=need.name, planned=seen)
    second = migrations.add("u", "DROP TABLE IF EXISTS important;\n")  # arrives after the review
    with pytest.raises(ProtectionRequired, match=f"changed since it was confirmed \\(now also {second.name}\\)"):
        runner.run_migrations(confirmed=confirmed)
    assert _nothing_applied(database) and _backups(target) == []


def test_the_backup_is_taken_inside_the_lock_by_the_engine(database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    target = _prod(database)
    runner = MigrationRunner(target, migrations.path)
    need = requirement(target, Action.MIGRATE)
    assert need.backup == "schema" and need.typed_name == target.environment
    events: list[str] = []

    def progress(event: object) -> None:
        events.append(getattr(event, "message", ""))

    result = runner.run_migrations(confirmed=confirm(need, typed=need.name, backup="full"), progress=progress)
    assert result.backup is not None and result.backup.mode == "full"
    assert _backups(target) == [result.backup.path]
    assert any(e.startswith("backup (full) written to") for e in events)
    assert result.to_dict()["backup"]["mode"] == "full"


def test_unprotected_targets_need_no_confirmation_and_the_sandbox_no_summary(
        database: Database, migrations: MigrationDir) -> None:
    migrations.add("t", "CREATE TABLE t (id int);\n")
    remote = Target(database.dsn, "--dsn")
    assert requirement(remote, Action.MIGRATE).summary and requirement(remote, Action.MIGRATE).typed_name is None
    assert not requirement(Target(database.dsn, "sandbox"), Action.MIGRATE).summary
    assert requirement(remote, Action.MIGRATE).backup is None
    MigrationRunner(remote, migrations.path).run_migrations()
    assert database.exists("public.t")


def test_importing_history_and_installing_the_shim_on_a_protected_target_need_it_too(
        database: Database, migrations: MigrationDir) -> None:
    from app.core.supabase import apply_shim, shim_state
    from app.core.supabase_history import import_history

    f = migrations.add("t", "CREATE TABLE t (id int);\n")
    database.execute("CREATE SCHEMA supabase_migrations; "
                     "CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, name text); "
                     f"INSERT INTO supabase_migrations.schema_migrations VALUES ('{f.name[:14]}', 't')")
    target = _prod(database)
    assert import_history(target, migrations.path, dry_run=True).imported == [f.name]  # a dry run needs none
    with pytest.raises(ProtectionRequired, match="import history needs"):
        import_history(target, migrations.path)
    assert not database.exists("public._migrations")
    need = requirement(target, Action.IMPORT)
    assert import_history(target, migrations.path, confirmed=confirm(need, typed=need.name)).imported == [f.name]

    with pytest.raises(ProtectionRequired, match="install the Supabase shim needs"):
        apply_shim(target)
    with database.connect() as conn:
        assert shim_state(conn) == "none"
