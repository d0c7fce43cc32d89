"""`tidemark new DESCRIPTION`: the next migration in each layout, read back by that layout; names,
versions, skeletons, bad descriptions and --edit."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core import layouts
from app.core.errors import UsageError
from app.core.scaffold import new_migration
from tests.conftest import Database, run_cli
from tests.test_layouts import PROJECTS, _write

NOW = datetime(2026, 12, 3, 14, 30, 5, tzinfo=UTC)

# layout -> the files `new "Add users email"` writes into the layout's project (relative to the folder)
EXPECTED = {
    "dbmate": ["20261203143005_add_users_email.sql"],
    "goose": ["11_add_users_email.sql"],  # the project numbers its files: 10 is the highest
    "sql-migrate": ["3_add_users_email.sql"],
    "golang-migrate": ["11_add_users_email.up.sql", "11_add_users_email.down.sql"],
    "prisma": ["20261203143005_add_users_email/migration.sql"],
    "diesel": ["2026-12-03-143005_add_users_email/up.sql", "2026-12-03-143005_add_users_email/down.sql"],
    "flyway": ["V3__add_users_email.sql"],  # after V2 (1.10 is below 2)
}


@pytest.mark.parametrize("layout", list(EXPECTED))
def test_new_in_each_layout_is_read_back_as_the_last(layout: str, tmp_path: Path) -> None:
    files, _, names = PROJECTS[layout]
    folder = _write(tmp_path / "migrations", files)
    created = new_migration(folder, "Add users email", now=NOW)
    assert created.layout == layout and not created.made_folder
    assert [str(p.relative_to(folder)) for p in created.paths] == EXPECTED[layout]
    reading = layouts.read(folder)
    assert reading.layout == layout, "the new file does not change what the folder is"
    assert [f.name for f in reading.files][:-1] == names
    last = reading.files[-1]
    assert last.title == "Add users email", "the header names it"
    assert last.directives.custom_rollback is None, "an empty rollback: nothing to run back yet"
    assert all(not line.strip() or line.strip().startswith("--") for line in last.forward.split("\n")), \
        "no SQL runs forward yet"


def test_native_and_supabase_skeleton(tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    created = new_migration(folder, "Create todos", now=NOW)
    assert created.made_folder and created.layout == "supabase"
    (path,) = created.paths
    assert path.name == "20261203143005_create_todos.sql"
    assert path.read_text() == ("-- Migration: Create todos\n-- Description:\n\n\n\n"
                                "-- ROLLBACK BEGIN\n-- ROLLBACK END\n")


def test_timestamp_taken_is_one_second_later_and_never_before_the_newest(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    first = new_migration(folder, "a", now=NOW).paths[0]
    second = new_migration(folder, "b", now=NOW).paths[0]
    assert (first.name, second.name) == ("20261203143005_a.sql", "20261203143006_b.sql")
    (folder / "20301231235959_future.sql").write_text("SELECT 1;\n")
    assert new_migration(folder, "c", now=NOW).paths[0].name == "20310101000000_c.sql", "sorts after the newest"


def test_first_migration_of_a_new_project_per_layout(tmp_path: Path) -> None:
    names = {layout: [str(p.relative_to(tmp_path / layout)) for p in
                      new_migration(tmp_path / layout, "init", layout=layout, now=NOW).paths]
             for layout in ("golang-migrate", "flyway", "goose")}
    assert names == {"golang-migrate": ["000001_init.up.sql", "000001_init.down.sql"],
                     "flyway": ["V1__init.sql"], "goose": ["20261203143005_init.sql"]}


def test_golang_migrate_keeps_the_padding_and_timestamps(tmp_path: Path) -> None:
    padded = _write(tmp_path / "padded", {"000009_a.up.sql": "SELECT 1;\n"})
    assert new_migration(padded, "b", now=NOW).paths[0].name == "000010_b.up.sql"
    stamped = _write(tmp_path / "stamped", {"20240101000000_a.up.sql": "SELECT 1;\n"})
    assert new_migration(stamped, "b", now=NOW).paths[0].name == "20261203143005_b.up.sql"


@pytest.mark.parametrize(("description", "name"), [
    ("../../etc/passwd", "etc_passwd"),
    ("Ajouter l'élève", "ajouter_l_eleve"),
    ("DROP TABLE x; --", "drop_table_x"),
    ("a" * 70 + " b", "a" * 60),
])
def test_unsafe_descriptions_are_made_safe_names(description: str, name: str, tmp_path: Path) -> None:
    (path,) = new_migration(tmp_path / "m", description, now=NOW).paths
    assert path.parent == tmp_path / "m" and path.name == f"20261203143005_{name}.sql"


@pytest.mark.parametrize(("description", "needle"), [
    ("", "give the migration a description"),
    ("!!! ???", "has no letters or digits"),
    ("two\nlines", "control character (U+000A"),
    ("x" * 201, "at most 200"),
])
def test_unusable_descriptions_are_refused(description: str, needle: str, tmp_path: Path) -> None:
    r = run_cli("new", description, "--migrations-dir", str(tmp_path / "m"))
    assert r.code == 2 and needle in r.stderr, r.stderr
    assert not (tmp_path / "m").exists(), "nothing written"


def test_sqitch_project_is_left_to_sqitch_add(tmp_path: Path) -> None:
    folder = _write(tmp_path / "flipr", PROJECTS["sqitch"][0])
    r = run_cli("new", "add", "flips", "--migrations-dir", str(folder))
    assert r.code == 2 and "sqitch add NAME" in r.stderr
    assert sorted(p.name for p in (folder / "deploy").iterdir()) == ["appschema.sql", "insert_user.sql", "users.sql"]


def test_cli_prints_the_path_and_the_file_migrates(database: Database, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    r = run_cli("new", "create", "todos", "--migrations-dir", str(folder))
    assert r.code == 0, r.stderr
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.parent == folder and path.name.endswith("_create_todos.sql")
    text = path.read_text().replace("\n\n\n-- ROLLBACK BEGIN\n",
                                    "\nCREATE TABLE todos (id int);\n\n-- ROLLBACK BEGIN\nDROP TABLE todos;\n")
    path.write_text(text)
    assert run_cli("migrate", "--dsn", database.dsn, "--migrations-dir", str(folder)).code == 0
    assert database.exists("public.todos")
    assert run_cli("rollback", "1", "--dsn", database.dsn, "--migrations-dir", str(folder)).code == 0
    assert not database.exists("public.todos")


def test_edit_opens_visual_without_a_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = tmp_path / "my editor.py"  # a space in its path: split as a shell would, run by none
    editor.write_text("import sys\nfor p in sys.argv[1:]:\n    open(p, 'a').write('-- edited $HOME\\n')\n")
    monkeypatch.setenv("VISUAL", f"{sys.executable} '{editor}'")
    monkeypatch.setenv("EDITOR", "false")
    r = run_cli("new", "a", "--edit", "--migrations-dir", str(tmp_path / "m"), "--layout", "golang-migrate")
    assert r.code == 0, r.stderr
    up, down = (Path(p) for p in r.stdout.split()[-2:])
    assert up.read_text().endswith("-- edited $HOME\n") and down.read_text() == "-- edited $HOME\n"


def test_edit_without_an_editor_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    r = run_cli("new", "a", "--edit", "--migrations-dir", str(tmp_path / "m"))
    assert r.code == 2 and "set $VISUAL or $EDITOR" in r.stderr
    assert not (tmp_path / "m").exists()


def test_editor_failing_is_reported_and_the_file_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "false")
    r = run_cli("new", "a", "--edit", "--migrations-dir", str(tmp_path / "m"))
    assert r.code == 1 and "exited with 1" in r.stderr and "the migration is written at" in r.stderr
    monkeypatch.setenv("VISUAL", str(tmp_path / "no-such-editor"))
    r = run_cli("new", "b", "--edit", "--migrations-dir", str(tmp_path / "m"))
    assert r.code == 1 and "could not start the editor" in r.stderr
    assert len(list((tmp_path / "m").iterdir())) == 2


def test_a_bad_project_is_refused_before_writing(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", {"V1_one_underscore.sql": "SELECT 1;\n"})
    with pytest.raises(UsageError, match="two"):
        new_migration(folder, "next", now=NOW)
    assert [p.name for p in folder.iterdir()] == ["V1_one_underscore.sql"]
