"""Files and folders Tidemark makes: the user's home untouched, reports by the umask, data 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.core.dirs import private_dir
from app.core.errors import TidemarkError
from app.core.service_user import open_path_for_others as _open_path_for_others
from app.report.write import write_atomic

pytestmark = pytest.mark.skipif(not hasattr(os, "umask") or os.name != "posix", reason="POSIX modes")


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_server_access_never_opens_the_users_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    data = home / ".local" / "share" / "tidemark" / "sandbox"
    data.mkdir(parents=True)
    home.chmod(0o700)
    tmp_path.chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(TidemarkError, match="does not change the permissions of your home"):
        _open_path_for_others(data)
    assert _mode(home) == 0o700


def test_server_access_opens_folders_outside_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/nonexistent/home")
    folder = tmp_path / "srv" / "cluster"
    folder.mkdir(parents=True)
    (tmp_path / "srv").chmod(0o700)
    _open_path_for_others(folder)
    assert _mode(tmp_path / "srv") & stat.S_IXOTH


def test_new_report_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "r.html", "<p>x</p>")
        os.umask(0o002)
        write_atomic(tmp_path / "s.json", "{}")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "r.html") == 0o640
    assert _mode(tmp_path / "s.json") == 0o664
    (tmp_path / "r.html").chmod(0o600)
    write_atomic(tmp_path / "r.html", "<p>y</p>")  # an existing report keeps its mode
    assert _mode(tmp_path / "r.html") == 0o600


def test_data_and_backup_folders_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        leaf = private_dir(tmp_path / "data" / "backups" / "production")
    finally:
        os.umask(old)
    for p in (leaf, leaf.parent, leaf.parent.parent):
        assert _mode(p) == 0o700, p


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="only root runs the server as another OS user")
def test_as_root_a_closed_home_moves_the_sandbox_and_binaries_out(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first command as root on a 0700 home: the sandbox works and the home stays 0700."""
    from app.core import sandbox, service_user
    from app.core.pg_binaries import Binaries
    from app.core.service_user import reachable_binaries

    tmp_path.chmod(0o755)
    home = tmp_path / "home"
    install = home / "venv" / "pginstall"
    (install / "bin").mkdir(parents=True)
    (install / "bin" / "postgres").write_text("#!/bin/sh\n")
    (install / "bin" / "postgres").chmod(0o700)
    home.chmod(0o700)
    shared = tmp_path / "var-lib-tidemark"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TIDEMARK_HOME", str(home / ".tidemark"))
    monkeypatch.setattr(service_user, "ROOT_SHARED", shared)
    monkeypatch.setattr(sandbox, "ROOT_SHARED", shared)

    assert sandbox.default_root() == shared / "sandbox"
    moved = reachable_binaries(Binaries(install / "bin", 18, "embedded"))
    assert shared in moved.bin_dir.parents and _mode(moved.tool("postgres")) & 0o005 == 0o005
    assert reachable_binaries(Binaries(install / "bin", 18, "embedded")) == moved, "copied once"
    assert _mode(home) == 0o700
    # outside a home nothing moves
    monkeypatch.setenv("HOME", "/nonexistent/home")
    assert reachable_binaries(Binaries(install / "bin", 18, "embedded")).bin_dir == install / "bin"
