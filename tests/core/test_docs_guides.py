"""The guides stay true to the code: every setting in the seed's words, the seed's error text verbatim,
the real default folders, only commands that exist, and no dead links between the pages."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDES = ("admin-guide.md", "onboarding-checklist.md", "what-is-stored-where.md", "troubleshooting.md",
          "connecting-real-quickbooks.md", "packaging.md")


def _unwrap(text: str) -> str:
    """Markdown wraps lines; compare prose with single spaces and without emphasis markers."""
    return re.sub(r"\s+", " ", text.replace("*", ""))


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_admin_guide_names_every_setting_in_the_seeds_words_with_its_cli_key():
    from qbosync_desktop.sync.rules.settings import LABELS, SyncSettings

    guide = (DOCS / "admin-guide.md").read_text(encoding="utf-8")
    headings = {line[4:].strip() for line in guide.splitlines() if line.startswith("### ")}
    for field in dataclasses.fields(SyncSettings):
        key = {"concepts": "concept.<name>", "tax_codes": "tax_code.<rate>"}.get(field.name, field.name)
        assert f"{LABELS[field.name]} `[{key}]`" in headings, field.name


def test_the_seeds_missing_state_message_is_quoted_verbatim():
    from qbosync_desktop.sync.rules.addresses import MISSING_STATE_MESSAGE

    expected = MISSING_STATE_MESSAGE.format(country="United States")
    for name in ("admin-guide.md", "troubleshooting.md"):
        assert expected in _unwrap((DOCS / name).read_text(encoding="utf-8")), name


def test_documented_default_folders_are_the_ones_platformdirs_gives():
    from platformdirs.macos import MacOS
    from platformdirs.unix import Unix

    from qbosync_desktop import APP_ID, ORG_NAME

    text = (DOCS / "what-is-stored-where.md").read_text(encoding="utf-8") + (DOCS / "troubleshooting.md").read_text(
        encoding="utf-8")
    home = str(Path.home())
    for dirs in (Unix(APP_ID, ORG_NAME), MacOS(APP_ID, ORG_NAME)):
        for folder in (dirs.user_data_dir, dirs.user_config_dir, dirs.user_log_dir):
            assert f"`{folder.replace(home, '~', 1)}`" in text, folder


def test_every_qbosync_command_in_the_guides_exists():
    from qbosync_desktop.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    known = set(sub.choices)
    for name in GUIDES:
        text = (DOCS / name).read_text(encoding="utf-8")
        used = set(re.findall(r"`qbosync (?:--home \S+ |--[a-z]+ )*([a-z][a-z-]+)", text))
        assert used, name
        assert used <= known, (name, used - known)


@pytest.mark.parametrize("name", (*GUIDES, "../CHANGELOG.md"))
def test_links_between_guides_resolve(name):
    page = (DOCS / name).resolve()
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # external
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        assert dest.exists(), (name, target)
        if anchor:
            headings = [line.lstrip("#") for line in dest.read_text(encoding="utf-8").splitlines()
                        if line.startswith("#")]
            assert anchor in {_slug(h) for h in headings}, (name, target)
