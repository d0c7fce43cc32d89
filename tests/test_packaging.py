"""Light checks of packaging/: the scripts parse and answer --help, the smoke test's clean
environment is clean. The real build and smoke test run in .ci/run (packaging/build.sh)."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"


def _smoke_module():
    spec = importlib.util.spec_from_file_location("tidemark_smoke_test", PACKAGING / "smoke_test.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spec_is_valid_python():
    compile((PACKAGING / "tidemark.spec").read_text(encoding="utf-8"), "tidemark.spec", "exec")


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_build_script_parses_and_answers_help():
    subprocess.run(["bash", "-n", str(PACKAGING / "build.sh")], check=True)
    subprocess.run(["bash", "-n", str(PACKAGING / "macos" / "build_dmg.sh")], check=True)
    out = subprocess.run(["bash", str(PACKAGING / "build.sh"), "--help"], capture_output=True, text=True, check=True)
    assert "usage: packaging/build.sh" in out.stdout
    bad = subprocess.run(["bash", str(PACKAGING / "build.sh"), "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown option --bogus" in bad.stderr


def test_smoke_test_answers_help():
    out = subprocess.run([sys.executable, str(PACKAGING / "smoke_test.py"), "--help"], capture_output=True,
                         text=True, check=True)
    assert "BUNDLE" in out.stdout.upper()


def test_smoke_test_environment_has_no_venv_and_an_empty_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    env = _smoke_module().clean_env(tmp_path)
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
    assert sys.prefix not in env["PATH"]
    assert env["HOME"] == str(tmp_path) and env["TIDEMARK_HOME"].startswith(str(tmp_path))


def test_smoke_test_refuses_what_is_not_a_bundle(tmp_path):
    smoke = _smoke_module()
    with pytest.raises(smoke.SmokeFailure, match="not a bundle"):
        smoke.unpack(tmp_path / "tidemark.zip", tmp_path / "out")


def test_smoke_test_counts_applied_migrations():
    applied = _smoke_module()._applied
    status = {"migrations": [{"state": "applied"}, {"state": "pending"}, {"state": "APPLIED"}]}
    assert applied(status) == 2
    assert applied({"status": status}) == 2
    assert applied({"migrations": []}) == 0


def test_desktop_entry_starts_the_gui():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(PACKAGING / "tidemark.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Exec"].split()[0] == "tidemark-gui" and d["Icon"] == "tidemark"
    assert (ROOT / "resources" / "icons" / f"{d['Icon']}.svg").is_file()


def test_pyinstaller_is_an_extra_not_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not any(d.lower().startswith("pyinstaller") for d in project["dependencies"])
    assert any(d.lower().startswith("pyinstaller") for d in project["optional-dependencies"]["packaging"])


def test_icons_for_windows_and_macos_are_drawn_from_the_svg(tmp_path):
    # A subprocess: make_icons creates a QGuiApplication, which must not become this test session's.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, str(PACKAGING / "make_icons.py"), str(tmp_path)], check=True, env=env,
                   capture_output=True, timeout=120)
    from PIL import Image

    with Image.open(tmp_path / "tidemark.ico") as ico:
        assert ico.format == "ICO" and (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(tmp_path / "tidemark.icns") as icns:
        assert icns.format == "ICNS"
    with Image.open(tmp_path / "tidemark.png") as png:
        assert png.size == (256, 256)
        # drawn, not blank: the SVG's dark blue background at the centre top
        r, g, b, a = png.convert("RGBA").getpixel((128, 20))
        assert a == 255 and b > r and b > g


def test_every_code_package_is_installed_by_a_plain_pip_install():
    """pyproject lists its packages: a new one missing there works in the editable dev install, and
    `pip install .` and the bundle then lack it (seen: app.core.layouts, exit 70 in the smoke test)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "app").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found - listed == set()
