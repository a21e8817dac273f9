"""Render the application icon from ``resources/icons/app.svg`` into every raster format the installers need.

Why a script and not hand-exported files: the SVG is the single source of truth; every PNG, the
Windows ``.ico`` and the macOS ``.icns`` are regenerated from it with Qt's own SVG renderer (the same
renderer the running app uses), so the taskbar, the dock and the window title never disagree.

Outputs (committed, so a packaging build needs no extra step):

- ``resources/icons/png/app-<N>.png`` for N in 16, 24, 32, 48, 64, 128, 256, 512 (Linux hicolor theme,
  AppStream, README);
- ``resources/icons/app.ico`` — one file with 16..256 px images. Qt's ICO writer stores one image per
  file, so each size is written by Qt (BMP entries, which every Windows version reads) and the
  entries are then gathered into one multi-image directory; 256 px is stored as PNG, the convention
  since Windows Vista that keeps the file small;
- ``resources/icons/app.icns`` — the Apple container, written here: ``b"icns"`` + total length, then
  typed chunks (OSType + length + PNG data), ``ic07``..``ic10`` (128..1024 px) plus the Retina
  ``ic11``..``ic14`` variants.

Usage::

    python packaging/render_icons.py            # regenerate everything in resources/icons
    python packaging/render_icons.py --check    # exit 1 if the committed renders are stale
    python packaging/render_icons.py --sheet out.png   # contact sheet of every icon for eyeballing
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# OSType → pixel size. ic11..ic14 are the @2x (Retina) variants of 16/32/128/256.
ICNS_TYPES = (
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic13", 256),
    (b"ic08", 256),
    (b"ic14", 512),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def _ensure_app() -> QGuiApplication:
    """QPainter on a QImage needs a Gui application for font/raster setup on some platforms."""
    return QGuiApplication.instance() or QGuiApplication(sys.argv[:1])


def render_svg(svg: Path, size: int) -> QImage:
    """Render ``svg`` into a transparent ``size``×``size`` ARGB image, antialiased."""
    _ensure_app()
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"not a valid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def encode(image: QImage, fmt: str) -> bytes:
    """Encode an image with Qt's writer for ``fmt`` ("png", "ico") into bytes."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, fmt):
        raise RuntimeError(f"Qt could not encode {fmt}")
    buf.close()
    return bytes(data.data())


def ico_bytes(images: dict[int, QImage]) -> bytes:
    """Build one multi-size ICO from per-size images (sizes ≤ 256).

    ICO layout: ICONDIR (reserved=0, type=1, count) then one 16-byte ICONDIRENTRY per image
    (width, height — 0 means 256 —, colours, reserved, planes, bit count, byte size, offset), then
    the image data. Each entry below 256 px comes from Qt's own single-image ICO output (so the
    BMP/AND-mask encoding is Qt's, not ours); 256 px is PNG.
    """
    entries: list[tuple[int, bytes, int]] = []  # (size, data, bitcount)
    for size in sorted(images):
        if size > 256:
            raise ValueError("ICO images are at most 256 px")
        if size == 256:
            entries.append((size, encode(images[size], "png"), 32))
            continue
        single = encode(images[size], "ico")
        _reserved, _type, count = struct.unpack_from("<HHH", single, 0)
        if count != 1:
            raise RuntimeError("expected Qt to write exactly one ICO image")
        _w, _h, _c, _r, _planes, bitcount, length, offset = struct.unpack_from("<BBBBHHII", single, 6)
        entries.append((size, single[offset : offset + length], bitcount))
    header = struct.pack("<HHH", 0, 1, len(entries))
    offset = len(header) + 16 * len(entries)
    directory = b""
    blobs = b""
    for size, data, bitcount in entries:
        dim = 0 if size == 256 else size
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, bitcount, len(data), offset)
        blobs += data
        offset += len(data)
    return header + directory + blobs


def icns_bytes(chunks: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Apple icon container: b'icns', total length (big-endian), then (OSType, length, PNG) chunks."""
    body = b"".join(ostype + struct.pack(">I", 8 + len(png)) + png for ostype, png in chunks)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def parse_icns(data: bytes) -> dict[str, bytes]:
    """Inverse of :func:`icns_bytes` (used by the tests and ``--check``)."""
    if data[:4] != b"icns" or struct.unpack(">I", data[4:8])[0] != len(data):
        raise ValueError("not an icns container")
    out: dict[str, bytes] = {}
    pos = 8
    while pos < len(data):
        ostype = data[pos : pos + 4].decode("ascii")
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        if length < 8 or pos + length > len(data):
            raise ValueError(f"bad chunk length for {ostype}")
        out[ostype] = data[pos + 8 : pos + length]
        pos += length
    return out


def render_all(svg: Path, out_dir: Path) -> list[Path]:
    """Write the PNGs, app.ico and app.icns for ``svg`` into ``out_dir``; returns the files written."""
    needed = set(APP_SIZES) | set(ICO_SIZES) | {size for _t, size in ICNS_TYPES}
    images = {size: render_svg(svg, size) for size in sorted(needed)}
    written: list[Path] = []
    png_dir = out_dir / "png"
    png_dir.mkdir(parents=True, exist_ok=True)
    for size in APP_SIZES:
        target = png_dir / f"app-{size}.png"
        target.write_bytes(encode(images[size], "png"))
        written.append(target)
    ico = out_dir / "app.ico"
    ico.write_bytes(ico_bytes({s: images[s] for s in ICO_SIZES}))
    written.append(ico)
    icns = out_dir / "app.icns"
    icns.write_bytes(icns_bytes((ostype, encode(images[size], "png")) for ostype, size in ICNS_TYPES))
    written.append(icns)
    return written


def image_difference(a: QImage, b: QImage) -> float:
    """Mean absolute per-channel difference (0..255) between two same-sized images."""
    if a.size() != b.size():
        return 255.0
    a = a.convertToFormat(QImage.Format.Format_RGBA8888)
    b = b.convertToFormat(QImage.Format.Format_RGBA8888)
    da = bytes(a.constBits())[: a.sizeInBytes()]
    db = bytes(b.constBits())[: b.sizeInBytes()]
    return sum(abs(x - y) for x, y in zip(da, db, strict=True)) / max(1, len(da))


def stale_renders(svg: Path, out_dir: Path, tolerance: float = 2.0) -> list[str]:
    """Names of committed PNG renders that no longer match the SVG (missing counts as stale).

    A small tolerance absorbs antialiasing differences between Qt versions; an edited SVG moves the
    mean far beyond it.
    """
    stale = []
    for size in APP_SIZES:
        f = out_dir / "png" / f"app-{size}.png"
        committed = QImage(str(f))
        if committed.isNull() or image_difference(committed, render_svg(svg, size)) > tolerance:
            stale.append(f.name)
    for name in ("app.ico", "app.icns"):
        if not (out_dir / name).is_file():
            stale.append(name)
    return stale


def contact_sheet(svgs: list[Path], target: Path, sizes: tuple[int, ...] = (16, 24, 32, 64, 128)) -> None:
    """Every icon at several sizes on a light and a dark band, to judge legibility by eye."""
    _ensure_app()
    pad = 12
    cell = max(sizes) + pad
    width = pad + len(sizes) * cell * 2
    height = pad + len(svgs) * cell
    sheet = QImage(width, height, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#FFFFFF"))
    painter = QPainter(sheet)
    painter.fillRect(width // 2, 0, width - width // 2, height, QColor("#2B2B2B"))
    for row, svg in enumerate(svgs):
        for band in range(2):
            for col, size in enumerate(sizes):
                x = pad // 2 + band * (width // 2) + col * cell
                y = pad // 2 + row * cell
                painter.drawImage(x, y, render_svg(svg, size))
    painter.end()
    sheet.save(str(target))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--svg", type=Path, default=ICONS / "app.svg")
    p.add_argument("--out", type=Path, default=ICONS, help="output folder (default resources/icons)")
    p.add_argument("--check", action="store_true", help="only report whether the committed renders are stale")
    p.add_argument("--sheet", type=Path, metavar="PNG", help="write a contact sheet of every icon and exit")
    args = p.parse_args(argv)
    if args.sheet:
        contact_sheet(sorted(ICONS.glob("*.svg")), args.sheet)
        print(f"wrote {args.sheet}")
        return 0
    if args.check:
        stale = stale_renders(args.svg, args.out)
        for name in stale:
            print(f"stale: {name} (run python packaging/render_icons.py)")
        return 1 if stale else 0
    for f in render_all(args.svg, args.out):
        print(f"wrote {f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
