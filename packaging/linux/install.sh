#!/bin/sh
# Install (or remove) QBO Sync for the current user, from the unpacked Linux bundle. No root needed.
#
#   ./install.sh              install into ~/.local (menu entry, icons, `qbosync` and `qbosync-desktop` commands)
#   ./install.sh --uninstall  remove it again (your data, settings, logs and keyring entries are kept)
#   PREFIX=/opt/qbo ./install.sh   install somewhere else (you may need sudo for system folders)
set -eu
PREFIX="${PREFIX:-$HOME/.local}"
HERE="$(cd "$(dirname "$0")" && pwd)"
APPDIR="$PREFIX/lib/qbosync-desktop"
METAINFO="com.qbosync.desktop.metainfo.xml"

refresh_caches() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$PREFIX/share/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$APPDIR"
    rm -f "$PREFIX/bin/qbosync-desktop" "$PREFIX/bin/qbosync"
    rm -f "$PREFIX/share/applications/qbosync-desktop.desktop" "$PREFIX/share/metainfo/$METAINFO"
    find "$PREFIX/share/icons/hicolor" -name 'qbosync-desktop.*' -delete 2>/dev/null || true
    refresh_caches
    echo "QBO Sync removed from $PREFIX. Your data, settings and logs were kept (see 'What is stored where')."
    exit 0
fi

mkdir -p "$APPDIR" "$PREFIX/bin" "$PREFIX/share"
# Copy the application (everything but the share/ tree and this script).
rm -rf "$APPDIR"
mkdir -p "$APPDIR"
for entry in "$HERE"/* "$HERE"/.[!.]*; do
    [ -e "$entry" ] || continue
    case "$(basename "$entry")" in share|install.sh) continue ;; esac
    cp -a "$entry" "$APPDIR/"
done
ln -sf "$APPDIR/qbosync-desktop" "$PREFIX/bin/qbosync-desktop"
ln -sf "$APPDIR/qbosync" "$PREFIX/bin/qbosync"
cp -a "$HERE/share/." "$PREFIX/share/"
# The menu entry must start this copy even when ~/.local/bin is not on the desktop session's PATH.
sed -i "s|^Exec=qbosync-desktop|Exec=\"$APPDIR/qbosync-desktop\"|" "$PREFIX/share/applications/qbosync-desktop.desktop"
refresh_caches
echo "QBO Sync installed in $APPDIR."
echo "Start it from your applications menu, or run: $PREFIX/bin/qbosync-desktop"
