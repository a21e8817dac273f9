"""The icon artwork: every icon the screens use exists and renders in its colour, and the committed
PNG/ICO/ICNS renders of the app icon are current and well-formed."""

from __future__ import annotations

import struct

import pytest
from PySide6.QtGui import QColor, QImage, QImageReader

from qbosync_desktop.core.resources import icon_path, resource

ICON_NAMES = ("app", "check", "cross", "warning", "syncing", "info", "tray-idle", "tray-syncing", "tray-attention",
              "tray-paused")


def _mean_colour(image: QImage) -> QColor:
    """Average colour of the clearly opaque pixels (ignores the transparent background)."""
    total = [0, 0, 0]
    count = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if c.alpha() > 200:
                total[0] += c.red()
                total[1] += c.green()
                total[2] += c.blue()
                count += 1
    assert count, "icon is fully transparent"
    return QColor(*(v // count for v in total))


@pytest.mark.parametrize("name", ICON_NAMES)
def test_every_icon_the_screens_need_exists_and_renders(qapp, render_icons, name):
    svg = icon_path(name)
    assert svg.is_file(), svg
    image = render_icons.render_svg(svg, 32)
    assert not image.isNull()
    # Drawn, not empty, and leaves some transparency around round/triangular shapes or tile corners.
    opaque = sum(1 for y in range(32) for x in range(32) if image.pixelColor(x, y).alpha() > 200)
    assert 150 < opaque < 1024


@pytest.mark.parametrize(
    ("name", "hue_range"),
    [("check", (90, 160)), ("cross", (350, 370)), ("warning", (35, 55)), ("syncing", (200, 230)), ("info", (200, 230))],
)
def test_status_icons_carry_their_colour(qapp, render_icons, name, hue_range):
    """Green check, red x, amber warning, blue syncing/info: the colour alone must say the status."""
    colour = _mean_colour(render_icons.render_svg(icon_path(name), 48))
    hue = colour.hsvHue()
    hue = hue + 360 if hue < 20 and hue_range[0] > 300 else hue
    assert hue_range[0] <= hue <= hue_range[1], (name, colour.name(), hue)
    assert colour.hsvSaturation() > 90


def test_committed_app_icon_renders_match_the_svg(qapp, render_icons):
    assert render_icons.stale_renders(icon_path("app"), resource("icons")) == []


def test_an_edited_svg_makes_the_renders_stale(qapp, render_icons, tmp_path):
    edited = tmp_path / "app.svg"
    edited.write_text(icon_path("app").read_text().replace("#16324F", "#FF00FF"))
    assert "app-256.png" in render_icons.stale_renders(edited, resource("icons"))


def test_app_ico_holds_every_windows_size(qapp):
    path = resource("icons", "app.ico")
    data = path.read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1)
    reader = QImageReader(str(path))
    sizes = []
    for i in range(reader.imageCount()):
        reader.jumpToImage(i)
        image = reader.read()
        assert not image.isNull()
        sizes.append((image.width(), image.height()))
    assert sorted(sizes) == [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
    assert count == 7


def test_app_icns_has_the_apple_chunks_as_pngs(qapp, render_icons):
    data = resource("icons", "app.icns").read_bytes()
    chunks = render_icons.parse_icns(data)
    expected = {"ic07": 128, "ic08": 256, "ic09": 512, "ic10": 1024, "ic11": 32, "ic12": 64, "ic13": 256, "ic14": 512}
    assert set(chunks) == set(expected)
    for ostype, size in expected.items():
        png = chunks[ostype]
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])  # IHDR
        assert (width, height) == (size, size), ostype


def test_icns_container_round_trips_and_rejects_garbage(render_icons):
    blob = render_icons.icns_bytes([(b"ic07", b"\x89PNG-a"), (b"ic08", b"\x89PNG-bb")])
    assert blob[:4] == b"icns" and struct.unpack(">I", blob[4:8])[0] == len(blob)
    assert render_icons.parse_icns(blob) == {"ic07": b"\x89PNG-a", "ic08": b"\x89PNG-bb"}
    with pytest.raises(ValueError):
        render_icons.parse_icns(b"icns" + struct.pack(">I", 999) + b"x")


def test_render_all_writes_every_size_into_a_fresh_folder(qapp, render_icons, tmp_path):
    written = {p.relative_to(tmp_path).as_posix() for p in render_icons.render_all(icon_path("app"), tmp_path)}
    assert written == {f"png/app-{s}.png" for s in render_icons.APP_SIZES} | {"app.ico", "app.icns"}
    for size in render_icons.APP_SIZES:
        image = QImage(str(tmp_path / "png" / f"app-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
