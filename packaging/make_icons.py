"""Render resources/icons/tidemark.svg into the icon files installers want: .ico (Windows), .icns
(macOS) and a 256 px PNG (Linux menus that skip SVG).

    python packaging/make_icons.py OUT_DIR

Runs in the build venv (Qt draws the SVG, Pillow writes the containers); tidemark.spec calls
it on Windows and macOS.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "tidemark.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def render(size: int):
    """The SVG drawn at size x size, as a Pillow image."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def make_icons(out: Path) -> dict[str, Path]:
    """Write tidemark.ico, tidemark.icns and tidemark.png into `out`; return their paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([])  # QImage/QPainter need one
    out.mkdir(parents=True, exist_ok=True)
    images = {size: render(size) for size in SIZES}
    paths = {"ico": out / "tidemark.ico", "icns": out / "tidemark.icns", "png": out / "tidemark.png"}
    images[256].save(paths["ico"], format="ICO", sizes=[(s, s) for s in SIZES if s <= 256])
    images[1024].save(paths["icns"], format="ICNS")
    images[256].save(paths["png"], format="PNG")
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python packaging/make_icons.py OUT_DIR")
    for kind, path in make_icons(Path(sys.argv[1])).items():
        print(f"{kind}: {path} ({path.stat().st_size} bytes)")
