"""`tidemark-gui`: the desktop application's entry point (and `--self-test` for packaging smoke tests)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ORG = "Tidemark"
# Qt's own options (one dash), which QApplication reads; those in the first set take a value.
QT_VALUE_OPTIONS = {"-platform", "-platformpluginpath", "-platformtheme", "-plugin", "-qwindowgeometry",
                    "-qwindowicon", "-qwindowtitle", "-session", "-display", "-geometry", "-style", "-stylesheet",
                    "-qmljsdebugger", "-title", "-name"}
QT_FLAG_OPTIONS = {"-reverse", "-widgetcount", "-nograb", "-dograb", "-sync"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The app's own options; Qt's (one dash, like -platform) pass through; anything else is exit 2."""
    parser = argparse.ArgumentParser(prog="tidemark-gui", description="Tidemark desktop application")
    parser.add_argument("--environment", "--env", dest="environment", metavar="NAME",
                        help="open this saved environment")
    parser.add_argument("--dsn", help="open this database (password from ~/.pgpass or PGPASSWORD)")
    parser.add_argument("--migrations-dir", type=Path, help="the migrations folder for --dsn")
    parser.add_argument("--name", help="a name for the --dsn database (shown in the title bar)")
    parser.add_argument("--protected", action="store_true", help="treat the --dsn database as protected")
    parser.add_argument("--theme", choices=("light", "dark", "system"),
                        help="colours for this run (default: as last chosen in View, else the system's)")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window offscreen, check the engine, print 'self-test ok' and exit")
    args, rest = parser.parse_known_args(argv)
    unknown = _not_qt(rest)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.environment and args.dsn:
        parser.error("give --environment or --dsn, not both")
    return args


def _not_qt(rest: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(rest):
        a = rest[i]
        name = a.split("=", 1)[0]
        if name in QT_VALUE_OPTIONS:
            i += 1 if "=" in a else 2
            continue
        if name in QT_FLAG_OPTIONS:
            i += 1
            continue
        out.append(a)
        i += 1
    return out


def tune_interpreter() -> None:
    """Hand the GIL over every 1 ms instead of 5: the UI thread waits less behind a busy worker."""
    sys.setswitchinterval(0.001)


def load_style() -> str:
    """The application's style sheet in the current theme (empty if the file is missing)."""
    from app.gui.theme import current, style_sheet

    return style_sheet(current())


def _self_test(app: object, window: object) -> int:
    """The engine imports and a runner can be built; the window shows and closes."""
    import tempfile

    from PySide6.QtWidgets import QApplication

    from app.core.runner import create_migration_runner

    with tempfile.TemporaryDirectory() as folder:
        runner = create_migration_runner(dsn="postgresql://self-test@localhost:1/none", migrations_dir=folder)
        assert runner.files() == []
    QApplication.processEvents()
    assert window.isVisible()  # type: ignore[attr-defined]
    from app.gui.icons import render

    drawn = render("run", "#000000", 24)  # the bundle carries the icons and Qt's SVG module draws them
    assert any(drawn.pixelColor(x, 12).alpha() > 128 for x in range(24)), "the toolbar icons draw nothing"  # type: ignore[attr-defined]
    window.close()  # type: ignore[attr-defined]
    QApplication.processEvents()
    print("self-test ok", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start the app; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    tune_interpreter()
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.gui.crash import BugReport, install_excepthook, install_message_handler, show_bug
    from app.gui.settings import make_settings

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "tidemark-gui", *_qt_args(argv)])
    app.setOrganizationName(ORG)
    app.setApplicationName("Tidemark")
    app.setApplicationDisplayName("Tidemark")
    icon = _icon_path()
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    from app.gui.settings import read_str
    from app.gui.theme import apply

    settings = make_settings()
    choice = args.theme or read_str(settings, "view/theme", "system")  # --theme: this run only, not remembered
    apply(app, choice)
    install_excepthook()
    install_message_handler()
    try:
        from app.gui import sources as src
        from app.gui.main_window import MainWindow

        initial = None
        if args.environment:
            initial = _environment_source(args.environment)
        elif args.dsn:
            folder = args.migrations_dir or Path.cwd() / "migrations"
            initial = src.dsn_source(args.dsn, folder, name=args.name, protected=args.protected)
            _name_not_saved(initial.name)
        window = MainWindow(settings, initial=initial, auto_refresh=not args.self_test, theme_choice=choice)
        window.show()
        if initial is None and not args.self_test and sum(s.kind == "environment" for s in window.sources()) > 1:
            window.show_overview()  # several saved environments: the overview is the start view
        if args.self_test:
            return _self_test(app, window)
    except Exception as exc:  # a bug before the event loop: logged, one readable line or dialog
        if args.self_test:
            sys.stderr.write(f"self-test failed: {BugReport.capture(exc)}\n")
            return 1
        show_bug(BugReport.capture(exc))
        return 1
    return app.exec()


def _environment_source(name: str) -> object:
    """The saved environment NAME as a source; an unknown name is exit 2 naming those there are."""
    from app.gui import sources as src

    found, problem = src.list_sources()
    match = next((s for s in found if s.kind == "environment" and s.name == name), None)
    if match is None:
        names = ", ".join(s.name for s in found if s.kind == "environment") or "none saved"
        sys.stderr.write(f"tidemark-gui: error: no saved environment {name!r} (there are: {names})"
                         + (f"; {problem}" if problem else "") + "\n")
        raise SystemExit(2)
    return match


def _name_not_saved(name: str) -> None:
    """`--dsn … --name NAME` where NAME is a saved environment: exit 2 (a name means one database)."""
    from app.gui import sources as src

    found, _ = src.list_sources()
    if any(s.kind != "dsn" and s.name == name for s in found):
        sys.stderr.write(f"tidemark-gui: error: --name {name!r} is a saved environment's name: open it with "
                         f"--environment {name}, or give this database another --name\n")
        raise SystemExit(2)


def _qt_args(argv: list[str]) -> list[str]:
    known = {"--dsn", "--migrations-dir", "--name", "--environment", "--env", "--theme"}
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in known:
            skip = True
            continue
        if a.split("=")[0] in known or a in ("--protected", "--self-test"):
            continue
        out.append(a)
    return out


def _icon_path() -> Path | None:
    from app.paths import resources_dir

    path = resources_dir() / "icons" / "tidemark.svg"
    return path if path.is_file() else None


def run() -> None:
    """Console entry point: `tidemark-gui`."""
    sys.exit(main())


if __name__ == "__main__":
    run()
