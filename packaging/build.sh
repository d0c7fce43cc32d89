#!/usr/bin/env bash
# Build Tidemark's offline bundle from this source tree (a git checkout or an exported copy).
#
#   dist/tidemark/                              the one-folder bundle: tidemark, tidemark-gui
#   dist/tidemark-VERSION-linux-ARCH.tar.gz     that folder, packed (Linux and macOS: -macos-)
#   dist/tidemark_VERSION_ARCH.deb              Linux: /opt/tidemark, /usr/bin/tidemark{,-gui},
#                                               desktop entry and icon
#   dist/Tidemark-VERSION.dmg                   macOS: via packaging/macos/build_dmg.sh
#
# It makes its own build venv (python3 -m venv; pip install .[packaging]) so a fresh machine
# with Python 3.11+ and pip access (or a filled pip cache) is enough; the result needs no Python.
# Windows: packaging/build.ps1.
set -euo pipefail
trap 'echo "build.sh: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

usage() {
  cat <<'EOF'
usage: packaging/build.sh [--venv DIR] [--python EXE] [--bundle-only] [--fast] [--help]

  --venv DIR     build venv to create or reuse (default: build/packaging-venv in the source tree;
                 also TIDEMARK_BUILD_VENV)
  --python EXE   interpreter for the venv (default: python3; also TIDEMARK_BUILD_PYTHON)
  --bundle-only  stop after dist/tidemark/ (no .tar.gz, .deb or .dmg)
  --fast         gzip -1 for the .tar.gz and the .deb (CI); the default (gzip -9, xz -6 for
                 the .deb) is smaller, but the .deb alone took 4 min on 2 busy cores
  --help         this text

Outputs go to dist/ in the source tree. Smoke-test them with: python3 packaging/smoke_test.py [dist/tidemark_*.deb]
EOF
}

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TIDEMARK_BUILD_VENV:-$SRC/build/packaging-venv}"
PYTHON="${TIDEMARK_BUILD_PYTHON:-python3}"
BUNDLE_ONLY=0
FAST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --bundle-only) BUNDLE_ONLY=1; shift ;;
    --fast) FAST=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

DIST="$SRC/dist"
WORK="$SRC/build/pyinstaller"
step() { printf '\n==> %s (%ds)\n' "$1" "$SECONDS"; }

step "build venv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# pip's "file:// location is ignored" notes about absent local indexes are noise here.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SRC[packaging]" 2>&1 \
  | grep -v -e "is ignored: it is neither a file nor a directory" -e "check.warn(importable)" >&2 || true
"$VENV/bin/python" -c "import app, PyInstaller" || { echo "build.sh: the build venv is broken ($VENV)" >&2; exit 1; }
VERSION="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("tidemark"))')"

step "pyinstaller (tidemark $VERSION)"
rm -rf "$DIST/tidemark" "$DIST/Tidemark.app"
(cd "$SRC" && "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK" \
  packaging/tidemark.spec)
test -x "$DIST/tidemark/tidemark" && test -x "$DIST/tidemark/tidemark-gui"
echo "bundle: $(du -sh "$DIST/tidemark" | cut -f1)"
[ "$BUNDLE_ONLY" = 1 ] && { step "done"; exit 0; }

case "$(uname -s)" in
  Linux) OS=linux ;;
  Darwin) OS=macos ;;
  *) OS="$(uname -s | tr '[:upper:]' '[:lower:]')" ;;
esac
MACHINE="$(uname -m)"

step "tar.gz"
TARBALL="$DIST/tidemark-$VERSION-$OS-$MACHINE.tar.gz"
rm -f "$DIST"/tidemark-*.tar.gz
if [ "$FAST" = 1 ]; then GZIP_LEVEL=-1; DEB_COMPRESS=(-Zgzip -z1); else GZIP_LEVEL=-9; DEB_COMPRESS=(-Zxz -z6); fi
tar -C "$DIST" -cf - tidemark | gzip "$GZIP_LEVEL" > "$TARBALL"
echo "$(basename "$TARBALL"): $(du -h "$TARBALL" | cut -f1)"

if [ "$OS" = linux ] && command -v dpkg-deb >/dev/null 2>&1; then
  step ".deb"
  ARCH="$(dpkg --print-architecture)"
  STAGE="$SRC/build/deb/tidemark"
  rm -rf "$SRC/build/deb" "$DIST"/tidemark_*.deb
  mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
           "$STAGE/usr/share/icons/hicolor/scalable/apps"
  cp -a "$DIST/tidemark" "$STAGE/opt/tidemark"
  ln -s /opt/tidemark/tidemark "$STAGE/usr/bin/tidemark"
  ln -s /opt/tidemark/tidemark-gui "$STAGE/usr/bin/tidemark-gui"
  install -m 0644 "$SRC/packaging/tidemark.desktop" "$STAGE/usr/share/applications/tidemark.desktop"
  install -m 0644 "$SRC/resources/icons/tidemark.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/tidemark.svg"
  # A PNG too, for menus that do not draw SVG (Qt renders it in the build venv).
  QT_QPA_PLATFORM=offscreen "$VENV/bin/python" "$SRC/packaging/make_icons.py" "$SRC/build/icons" >/dev/null
  install -D -m 0644 "$SRC/build/icons/tidemark.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/tidemark.png"
  chmod -R u=rwX,go=rX "$STAGE/opt/tidemark"
  INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
  # No Python dependency: the bundle carries its interpreter and libraries. What it still
  # loads from the system (checked with ldd): glibc (as new as the build machine's), OpenGL/EGL
  # and libxcb (PyInstaller never bundles those), and Wayland's client libraries for Qt's
  # Wayland plugin (X11 works without them).
  GLIBC="$(getconf GNU_LIBC_VERSION | awk '{print $2}')"
  cat > "$STAGE/DEBIAN/control" <<EOF
Package: tidemark
Version: $VERSION
Architecture: $ARCH
Maintainer: Tidemark developers <tidemark@localhost>
Installed-Size: $INSTALLED_KB
Depends: libc6 (>= $GLIBC), libgl1, libegl1, libxcb1
Recommends: libwayland-client0, libwayland-cursor0, libwayland-egl1
Suggests: gnome-keyring
Section: database
Priority: optional
Description: SQL-file schema migrations for PostgreSQL and Supabase
 Run, roll back, track and report on SQL-file schema migrations across several
 environments, from the desktop app (tidemark-gui) or the command line (tidemark).
 Self-contained: carries its own Python, Qt, PostgreSQL client tools and a local
 sandbox server; installs and runs with no network.
EOF
  DEB="$DIST/tidemark_${VERSION}_${ARCH}.deb"
  dpkg-deb --root-owner-group "${DEB_COMPRESS[@]}" --build "$STAGE" "$DEB" >/dev/null
  echo "$(basename "$DEB"): $(du -h "$DEB" | cut -f1), installed $((INSTALLED_KB / 1024)) MB"
fi

if [ "$OS" = macos ]; then
  step ".dmg"
  "$SRC/packaging/macos/build_dmg.sh" "$DIST/Tidemark.app" "$DIST/Tidemark-$VERSION.dmg"
fi

step "done"
ls -la "$DIST"
