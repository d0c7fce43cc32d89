"""rehearse with Flyway's kinds: it starts an empty copy from a baseline migration as migrate does, and
runs the due repeatables last, each of which must apply; neither has a rollback to try, and the
summary says so rather than counting them as verified (real PostgreSQL, a throwaway copy)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Database, run_cli
from tests.test_flyway import BASELINE, REPEATABLE, _args, _write


def _lines(stdout: str) -> dict[str, str]:
    """`[i/n] NAME: what happened` lines, by name."""
    out = {}
    for line in stdout.splitlines():
        if line.strip().startswith("[") and "] " in line:
            name, _, rest = line.split("] ", 1)[1].partition(": ")
            out[name] = rest
    return out


def test_rehearse_starts_from_the_baseline_and_runs_the_repeatables_last(database: Database, tmp_path: Path) -> None:
    view = "CREATE OR REPLACE VIEW accounts_view AS SELECT id, email FROM accounts;\n"
    folder = _write(tmp_path / "migrations", {**BASELINE, "R__accounts_view.sql": view})
    r = run_cli("rehearse", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    lines = _lines(r.stdout)
    assert list(lines) == ["B2__baseline.sql", "V3__accounts_email.sql", "V4__orders.sql", "R__accounts_view.sql"], \
        r.stdout  # V1 and V2 are the baseline's: migrate would not run them on an empty database
    assert lines["B2__baseline.sql"].startswith("applied") and "no rollback" in lines["B2__baseline.sql"]
    assert "rollback verified" in lines["V3__accounts_email.sql"] and "rollback verified" in lines["V4__orders.sql"]
    assert lines["R__accounts_view.sql"].startswith("applied") and "no rollback" in lines["R__accounts_view.sql"]
    assert "its rollback was not tried" in r.stdout
    assert "rollbacks 2 verified, 0 manual, 0 not tried, 2 with no rollback to try" in r.stdout, r.stdout
    assert "every rollback restored the schema" not in r.stdout, "never claimed for the untried ones"
    assert not database.exists("public._migrations"), "the rehearsal ran on a copy"

    doc = json.loads(run_cli("rehearse", *_args(database, folder, "--json")).stdout)
    assert doc["ok"] and doc["counts"]["no-rollback"] == 2


def test_rehearse_of_a_changed_repeatable_alone(database: Database, tmp_path: Path) -> None:
    folder = _write(tmp_path / "migrations", REPEATABLE)
    assert run_cli("migrate", *_args(database, folder)).code == 0
    view = folder / "views" / "R__b_account_view.sql"
    view.write_text("CREATE OR REPLACE VIEW account_view AS\nSELECT id, email, label(name) AS label, 2 AS v "
                    "FROM accounts;\n", encoding="utf-8")
    r = run_cli("rehearse", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert list(_lines(r.stdout)) == ["R__b_account_view.sql"], r.stdout
    assert database.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'account_view' "
                           "AND column_name = 'v'") == 0, "only the copy ran it"

    view.write_text("CREATE OR REPLACE VIEW account_view AS SELECT nosuch FROM accounts;\n", encoding="utf-8")
    r = run_cli("rehearse", *_args(database, folder))
    assert r.code == 1, r.stdout + r.stderr
    assert _lines(r.stdout)["R__b_account_view.sql"].startswith("FAILED") and "nosuch" in r.stdout, r.stdout


def test_rehearse_of_a_baseline_alone(database: Database, tmp_path: Path) -> None:
    files = {k: v for k, v in BASELINE.items() if k in ("B2__baseline.sql", "V3__accounts_email.sql")}
    folder = _write(tmp_path / "migrations", files)  # the old V files deleted, as after a squash
    r = run_cli("rehearse", *_args(database, folder))
    assert r.code == 0, r.stdout + r.stderr
    assert list(_lines(r.stdout)) == ["B2__baseline.sql", "V3__accounts_email.sql"], r.stdout
    r = run_cli("migrate", *_args(database, folder, "--target", "2"))  # a target may name the baseline
    assert r.code == 0, r.stdout + r.stderr
    assert database.exists("public.accounts") and database.scalar(
        "SELECT count(*) FROM public._migrations WHERE name = 'V3__accounts_email.sql'") == 0
