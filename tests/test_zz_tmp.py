from __future__ import annotations
from app.core import environments as envs
from tests.conftest import MigrationDir, Server, fresh_database, run_cli
from tests.test_fleet_schemas import home  # noqa: F401

def test_x(home, pg_server: Server, migrations: MigrationDir, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("PGPASSWORD", pg_server.password or "")
    with fresh_database(pg_server) as db:
        dsn, _ = envs.split_password(db.dsn)
        envs.save_environment(envs.Profile("up", dsn=dsn, migrations_dir=str(migrations.path), groups=("g",)))
        envs.save_environment(envs.Profile("down", dsn="host=127.0.0.1 port=1 dbname=x user=u", migrations_dir=str(migrations.path), groups=("g",)))
        envs.save_environment(envs.Profile("dbs", dsn="host=127.0.0.1 port=1 dbname=x user=u", migrations_dir=str(migrations.path), databases="t%", groups=("g",)))
        migrations.add("users", "CREATE TABLE users (id int);\n")
        for argv in (("migrate", "--group", "g", "--yes", "--on-failure", "continue"), ("status", "--group", "g"), ("report", "--group", "g")):
            r = run_cli(*argv)
            print(argv, r.code, r.stdout[-1500:], r.stderr[-500:])
