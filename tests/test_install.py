"""A non-editable install carries the package's data: resources/ and the example migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_ships_resources_and_example_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("tidemark-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (REPO / "resources").rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            assert f"app/resources/{f.relative_to(REPO / 'resources').as_posix()}" in names
    examples = sorted(p.name for p in (REPO / "migrations").glob("*.sql"))
    assert examples, "the example migrations are in migrations/"
    for name in examples:
        assert f"app/example_migrations/{name}" in names
    assert "app/cli/main.py" in names and "app/core/runner.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "tidemark = app.cli.main:run" in text and "tidemark-gui = app.gui.app:run" in text
