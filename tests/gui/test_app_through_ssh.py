"""The desktop app reaches a database through an SSH hop: status and Run pending go through sshd."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from app.core import tunnel
from app.core.connect import Target
from app.gui.sources import target_source
from tests import sshd
from tests.conftest import Database, MigrationDir
from tests.gui.conftest import DEADLINE_MS, confirm_run, open_window

pytestmark = pytest.mark.skipif(not sshd.available(), reason="needs OpenSSH (Debian: openssh-server)")


@pytest.fixture(scope="module")
def server() -> Iterator[sshd.Sshd]:
    srv = sshd.start()
    yield srv
    srv.stop()


def test_status_and_run_pending_through_an_ssh_hop(qtbot, settings, server: sshd.Sshd, database: Database,
                                                   migrations: MigrationDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDEMARK_SSH_CONFIG", str(server.config))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    port = int(psycopg.conninfo.conninfo_to_dict(database.dsn)["port"])
    migrations.add("t", "CREATE TABLE t (id int);\n")
    target = Target(database.dsn, "--dsn", environment="behind-bastion", ssh="hop1")
    window = open_window(qtbot, settings, [], initial=target_source(target, migrations.path, "behind-bastion"))
    before = server.forwards_to(port)
    try:
        with qtbot.waitSignal(window.snapshot_shown, timeout=DEADLINE_MS):
            window.refresh()
        assert window.cards.cards["pending"].value.text() == "1"
        with qtbot.waitSignal(window.job_done, timeout=DEADLINE_MS, check_params_cb=lambda k, *_: k == "run") as done:
            confirm_run(qtbot, window, window.run_pending)
        assert done.args[1] == "ok", window.last_error
        assert database.exists("public.t")
        assert server.forwards_to(port) > before, "the app's connections went through sshd"
    finally:
        window.close()
        tunnel.close_all()
