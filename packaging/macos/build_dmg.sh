#!/usr/bin/env bash
# macOS: pack the PyInstaller .app (dist/Tidemark.app, made by packaging/tidemark.spec's BUNDLE)
# into a compressed .dmg with an Applications link. Untested here (no macOS machine); the CI
# workflow runs it on macos-latest. Called by packaging/build.sh on macOS.
#
#   packaging/macos/build_dmg.sh dist/Tidemark.app dist/Tidemark-0.1.0.dmg
#
# Signing and notarisation are not done: set CODESIGN_IDENTITY to sign the .app (ad hoc "-"
# by default, which Apple Silicon needs to run it at all); notarise the .dmg with notarytool.
# The CLI is inside the app: Tidemark.app/Contents/MacOS/tidemark (link it into /usr/local/bin).
set -euo pipefail

if [ $# -ne 2 ] || [ "$1" = "--help" ]; then
  echo "usage: $0 APP DMG   e.g. $0 dist/Tidemark.app dist/Tidemark-0.1.0.dmg" >&2
  exit 2
fi
APP="$1"
DMG="$2"
[ -d "$APP" ] || { echo "build_dmg.sh: $APP is not a folder (build the bundle first)" >&2; exit 1; }

codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$APP"
"$APP/Contents/MacOS/tidemark" --version  # the CLI runs from inside the signed app

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname Tidemark -srcfolder "$STAGE" -fs HFS+ -format UDZO -imagekey zlib-level=9 -ov "$DMG"
echo "$DMG: $(du -h "$DMG" | cut -f1)"
