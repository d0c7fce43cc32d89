"""The PDF report's fonts: Noto Sans (Latin, Greek, Cyrillic) and a CJK fallback when one is installed.

Noto Sans comes from the PyPI package fontpkg-noto-sans (SIL Open Font License 1.1, which allows
embedding; the package carries the licence), so no font binary lives in this repository. It is a
variable font: its weight 400 and 700 instances are made once with fontTools (seconds each) and
kept under the data folder, and fpdf2 embeds only the glyphs used (subset).
CJK is not in Noto Sans and a CJK font is 5-20 MB, so it is not a dependency: the first font found
among Debian's usual packages is added as a fallback. Without the package (a bare install) the
report falls back to Helvetica, which prints `?` outside Latin-1, as before.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from app.core.dirs import data_dir

FAMILY = "tidemark-sans"
CJK_FAMILY = "tidemark-cjk"

# (path, index in a collection): Debian's fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei,
# fonts-ipafont-gothic, fonts-unfonts-core. Regular weight only; bold CJK is drawn regular.
_CJK_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf", 0),
    ("/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf", 0),
)


def noto_sans() -> Path | None:
    """The Noto Sans variable font file, or None when fontpkg-noto-sans is not installed."""
    try:
        import fontpkg_noto_sans
    except ImportError:
        return None
    path = Path(fontpkg_noto_sans.ROOT) / "files" / "NotoSans[wdth,wght].ttf"
    return path if path.is_file() else None


def static_instance(weight: int) -> Path | None:
    """Noto Sans at one weight as a static TrueType file, made on first use and kept; None without it."""
    source = noto_sans()
    if source is None:
        return None
    from importlib.metadata import version as package_version

    version = package_version("fontpkg-noto-sans")
    folder = data_dir() / "fonts"
    target = folder / f"NotoSans-{version}-w{weight}.ttf"
    if target.is_file():
        return target
    from fontTools.ttLib import TTFont
    from fontTools.varLib import instancer

    font = instancer.instantiateVariableFont(TTFont(source), {"wght": weight, "wdth": 100})
    folder.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: two reports made at once never read a half-written font.
    fd, tmp = tempfile.mkstemp(prefix=".noto.", suffix=".ttf", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            font.save(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def cjk_font() -> tuple[Path, int] | None:
    """The first installed CJK font (path, collection index), or None."""
    for path, index in _CJK_CANDIDATES:
        if Path(path).is_file():
            return Path(path), index
    return None


def install(pdf: Any) -> str:
    """Register the report's fonts on an FPDF; returns the family to use ("helvetica" without ours)."""
    source = noto_sans()
    if source is None:
        return "helvetica"
    for style, weight in (("", 400), ("B", 700)):
        try:
            pdf.add_font(FAMILY, style, static_instance(weight))
        except OSError:  # the data folder cannot be written: fpdf2 instances it for this report only
            pdf.add_font(FAMILY, style, source, variations={"wght": weight, "wdth": 100})
    cjk = cjk_font()
    if cjk is not None:
        path, index = cjk
        pdf.add_font(CJK_FAMILY, "", path, collection_font_number=index)
        # exact_match=False: bold text falls back to the regular CJK face rather than to nothing.
        pdf.set_fallback_fonts([CJK_FAMILY], exact_match=False)
    return FAMILY
