"""The action icons: resources/icons/actions/*.svg, drawn in the theme's colours.

Each SVG strokes and fills with `currentColor`; `icon()` puts the theme's text colour there (its
error colour for what changes the database backwards, so a rollback reads apart from a run) and
the disabled colour for the disabled state, so every icon stays visible on light and dark.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from app.gui import theme

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QWidget

# Action attribute of the main window -> icon file (resources/icons/actions/<name>.svg).
ACTION_ICONS = {
    "act_run": "run", "act_dry": "dry-run", "act_rehearse": "rehearse", "act_run_to": "run-to",
    "act_rb_last": "rollback-last", "act_rb_to": "rollback-to", "act_refresh": "refresh",
    "act_history": "history", "act_export": "export", "act_compare": "compare", "act_envs": "environments",
    "act_open": "open", "act_new": "new-migration", "act_lint": "lint", "act_overview": "overview",
    "act_repair": "repair", "act_baseline": "baseline", "act_find": "find", "act_shortcuts": "shortcuts",
    "act_about": "about", "act_quit": "quit", "act_drift": "drift", "act_promote": "promote",
}
# What undoes applied work: painted in the theme's error colour.
DANGER = frozenset({"rollback-last", "rollback-to"})
SIZES = (16, 20, 24, 32, 48)


def colour_of(name: str, t: theme.Theme | None = None) -> str:
    """The colour an icon is drawn in, in a theme (the current one by default)."""
    t = t or theme.current()
    return t.error if name in DANGER else t.text


@functools.cache
def _svg(name: str) -> bytes:
    from app.paths import resources_dir

    return (resources_dir() / "icons" / "actions" / f"{name}.svg").read_bytes()


def render(name: str, colour: str, size: int) -> object:
    """The icon drawn in one colour at size x size px, as a QImage (transparent around it)."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(_svg(name).replace(b"currentColor", colour.encode())))
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def icon(name: str, t: theme.Theme | None = None) -> QIcon:
    """The named icon in a theme: its colour when enabled, the disabled colour when disabled."""
    from PySide6.QtGui import QIcon, QPixmap

    t = t or theme.current()
    out = QIcon()
    for size in SIZES:
        out.addPixmap(QPixmap.fromImage(render(name, colour_of(name, t), size)), QIcon.Mode.Normal)
        out.addPixmap(QPixmap.fromImage(render(name, t.disabled, size)), QIcon.Mode.Disabled)
    return out


def apply_icons(w: QWidget) -> None:
    """Give every known action of the window (and the export button, the cancel button) its icon,
    in the current theme; called again when the theme changes."""
    from PySide6.QtWidgets import QAbstractButton

    for attr, name in ACTION_ICONS.items():
        action = getattr(w, attr, None)
        if action is not None:
            action.setIcon(icon(name))
    export = getattr(w, "export_button", None)
    if isinstance(export, QAbstractButton):
        export.setIcon(icon("export"))
    progress = getattr(w, "progress", None)
    cancel = getattr(progress, "cancel_button", None)
    if isinstance(cancel, QAbstractButton):
        cancel.setIcon(icon("cancel"))
