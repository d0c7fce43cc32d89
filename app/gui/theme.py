"""Light and dark themes: every colour the app paints comes from here, chosen so text meets WCAG AA.

`apply(app, choice)` sets the palette and the style sheet (resources/style/tidemark.qss, whose
`$role` placeholders are filled from the theme); `current()` is the theme in force, read when a
view paints or renders, so switching themes repaints everything in the new colours.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass

CHOICES = ("system", "light", "dark")


@dataclass(frozen=True)
class Theme:
    """Named colours (#rrggbb). Foreground roles are read on `base` (and `window`)."""

    name: str
    dark: bool
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    # What a disabled control's text and icon are drawn in: told from enabled text at a glance (3:1
    # apart) yet still legible (2.5:1 on window). Not muted: a hint must read (4.5:1), a greyed-out
    # Run pending must look off, and muted sat too near text (2.7:1 light, 1.9:1 dark) for that.
    disabled: str
    border: str  # decorative: card edges, grid lines
    control_border: str  # what outlines a control (a field, a checkbox): at least 3:1 on window and base
    highlight: str
    highlight_text: str
    ok: str
    warn: str
    error: str
    info: str
    purple: str
    teal: str
    magenta: str
    error_bg: str  # the error panel, an error line in the SQL
    error_border: str
    warn_bg: str  # what cannot be undone; compare's shaded differences
    warn_border: str
    code_bg: str
    sql_keyword: str
    sql_type: str
    sql_number: str
    sql_string: str
    sql_ident: str
    sql_dollar: str
    sql_comment: str
    sql_directive: str
    chart_bar: str
    chart_slow: str
    chart_axis: str
    danger_button: str  # background of the destructive button, white text on it
    progress_chunk: str  # the progress bar's done part: the text on it and the bar's empty part on base
    protected_tag_bg: str
    protected_tag_text: str
    diff_old_bg: str = "#fde2e1"  # Compare's side by side: lines only the left definition has
    diff_new_bg: str = "#dcf5dc"  # lines only the right one has


LIGHT = Theme(
    name="light", dark=False, window="#f3f4f6", base="#ffffff", alt_base="#f7f8fa", text="#1f2328",
    muted="#5f6672", disabled="#8a9099", border="#c9ced6", control_border="#7d8590", highlight="#1f5fbf",
    highlight_text="#ffffff",
    ok="#2e7d32", warn="#a35200", error="#c62828", info="#1565c0", purple="#6a1b9a", teal="#00727c",
    magenta="#ad1457", error_bg="#fdecea", error_border="#e57373", warn_bg="#fff3cd", warn_border="#e0b252",
    code_bg="#f3f4f6", sql_keyword="#0d47a1", sql_type="#6a1b9a", sql_number="#a13d00", sql_string="#2e6b30",
    sql_ident="#4e342e", sql_dollar="#ad1457", sql_comment="#636a73", sql_directive="#00695c",
    chart_bar="#1e6fd0", chart_slow="#c25700", chart_axis="#6b7280", danger_button="#c62828",
    progress_chunk="#6090d7", protected_tag_bg="#000000", protected_tag_text="#ffffff",
)

DARK = Theme(
    name="dark", dark=True, window="#1f2124", base="#16181b", alt_base="#1c1f23", text="#e6e8eb",
    muted="#a4abb6", disabled="#737a84", border="#3d434b", control_border="#6e7681", highlight="#2b63b8",
    highlight_text="#ffffff",
    ok="#7bc67f", warn="#f0a048", error="#ff8a80", info="#8ab8f5", purple="#cf9be0", teal="#5fc9d3",
    magenta="#f48fb1", error_bg="#3b1d1d", error_border="#a84a4a", warn_bg="#3a3220", warn_border="#8a7330",
    code_bg="#23262b", sql_keyword="#8cb4ff", sql_type="#d7a6ea", sql_number="#f5a66b", sql_string="#8fd18f",
    sql_ident="#d9b99b", sql_dollar="#f48fb1", sql_comment="#9aa3ad", sql_directive="#6fd0c2",
    chart_bar="#5b9cf0", chart_slow="#f0a048", chart_axis="#a4abb6", danger_button="#b3261e",
    progress_chunk="#2e65b8", protected_tag_bg="#ffffff", protected_tag_text="#000000",
    diff_old_bg="#4a2326", diff_new_bg="#1f3d26",
)

THEMES = {"light": LIGHT, "dark": DARK}
_current = LIGHT


def current() -> Theme:
    """The theme in force."""
    return _current


def resolve(choice: str, scheme: object = None) -> Theme:
    """The theme a choice means: "system" follows the desktop's colour scheme (light when it says nothing);
    `scheme` is the Qt.ColorScheme just announced (colorSchemeChanged), else the style hints are asked."""
    if choice in THEMES:
        return THEMES[choice]
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    if scheme is None:
        hints = QGuiApplication.styleHints() if QGuiApplication.instance() else None
        scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def style_sheet(theme: Theme) -> str:
    """resources/style/tidemark.qss with its $role placeholders filled (empty if the file is missing);
    `$style_dir` is that folder (the check mark's image), with forward slashes as Qt's url() wants."""
    from app.paths import resources_dir

    folder = resources_dir() / "style"
    try:
        text = (folder / "tidemark.qss").read_text(encoding="utf-8")
    except OSError:
        return ""
    return string.Template(text).safe_substitute(asdict(theme), style_dir=folder.as_posix())


def apply(app: object, choice: str = "system", scheme: object = None) -> Theme:
    """Paint the application in the chosen theme (palette, Fusion style for a dark one, style sheet);
    `scheme`: the system's colour scheme, when it has just changed."""
    from PySide6.QtGui import QColor, QPalette

    global _current
    theme = resolve(choice, scheme)
    _current = theme
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window, QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base, QPalette.ColorRole.AlternateBase: theme.alt_base,
        QPalette.ColorRole.Text: theme.text, QPalette.ColorRole.Button: theme.window,
        QPalette.ColorRole.ButtonText: theme.text, QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text, QPalette.ColorRole.Highlight: theme.highlight,
        QPalette.ColorRole.HighlightedText: theme.highlight_text, QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Link: theme.info, QPalette.ColorRole.Mid: theme.border,
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.disabled))
    if theme.dark:
        app.setStyle("Fusion")  # type: ignore[attr-defined]  # the platform style may ignore a dark palette
    app.setPalette(p)  # type: ignore[attr-defined]
    app.setStyleSheet(style_sheet(theme))  # type: ignore[attr-defined]
    return theme


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# Text colours and what they are read on: the contrast test checks each pair in both themes.
TEXT_ON = {
    "base": ("text", "muted", "ok", "warn", "error", "info", "purple", "teal", "magenta", "sql_keyword",
             "sql_type", "sql_number", "sql_string", "sql_ident", "sql_dollar", "sql_comment", "sql_directive",
             "chart_axis"),
    "window": ("text", "muted", "error", "ok", "warn"),
    "error_bg": ("text", "error"),
    "code_bg": ("text", "muted", "sql_keyword", "sql_string", "sql_comment"),  # muted: line numbers
    "warn_bg": ("text",),  # a find match
    "diff_old_bg": ("text",),  # Compare's changed lines
    "diff_new_bg": ("text",),
    "highlight": ("highlight_text",),
    "progress_chunk": ("text",),  # the bar's text, over its done part too
}


# Non-text contrast (WCAG 1.4.11, 3:1): a control's outline against what it sits on and what it holds;
# the progress bar's done part against its empty part.
NON_TEXT_ON = {"control_border": ("window", "base"), "progress_chunk": ("base",)}


def control_pairs(theme: Theme) -> list[tuple[str, str, float]]:
    """(role, background role, contrast) for each pair in NON_TEXT_ON."""
    values = asdict(theme)
    return [(fg, bg, contrast(values[fg], values[bg])) for fg, bgs in NON_TEXT_ON.items() for bg in bgs]


def pairs(theme: Theme) -> list[tuple[str, str, float]]:
    """(foreground role, background role, contrast) for every pair in TEXT_ON, plus the coloured tags."""
    values = asdict(theme)
    out = [(fg, bg, contrast(values[fg], values[bg])) for bg, fgs in TEXT_ON.items() for fg in fgs]
    out.append(("#ffffff", "danger_button", contrast("#ffffff", theme.danger_button)))
    out.append(("protected_tag_text", "protected_tag_bg", contrast(theme.protected_tag_text, theme.protected_tag_bg)))
    return out


# What each state and health is painted in: a role of the theme.
STATE_ROLES = {"applied": "ok", "pending": "info", "modified": "warn", "missing": "purple", "failed": "error",
               "running": "teal", "rolling back": "magenta", "healthy": "ok", "warning": "warn", "error": "error"}


def state_colour(state: str, *, badge: bool = False) -> str:
    """The colour of a state's (or health's) text in the current theme; a badge (white text on the colour)
    takes the light theme's deeper colour in both themes, which white text reads well on."""
    role = STATE_ROLES.get(state, "muted")
    return str(getattr(LIGHT if badge else current(), role))


def badge_pairs() -> list[tuple[str, float]]:
    """(state, contrast of white text on its badge) for every state."""
    return [(s, contrast("#ffffff", state_colour(s, badge=True))) for s in STATE_ROLES]
