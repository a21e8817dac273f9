"""The publisher profile: the Intuit app's keys, shipped with the app so an admin only signs in.

A small-business admin has no Intuit developer account, so asking them for a Client ID, Client secret
and Redirect URI is a dead end. Whoever publishes QBO Sync registers one Intuit app and ships its keys
in ``resources/publisher.json`` (or points ``QBOSYNC_PUBLISHER_PROFILE`` at a file); with a profile the
Connect page shows just "Connect to QuickBooks" and the developer-keys form sits under "Advanced".
See docs/connecting-real-quickbooks.md for the format.

The client secret read from the profile goes to the keyring when connecting (as a typed one does) and
is registered with the log redaction at once: it is never written to SQLite or a log.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from qbosync_desktop.core.errors import ConfigurationError
from qbosync_desktop.core.logs import register_secret
from qbosync_desktop.core.resources import resource

ENV_VAR = "QBOSYNC_PUBLISHER_PROFILE"
FILE_NAME = "publisher.json"
ENVIRONMENTS = ("sandbox", "production", "practice")


@dataclass(frozen=True)
class PublisherProfile:
    """One Intuit app: who publishes it and the keys Intuit issued for it."""

    app_name: str
    client_id: str
    client_secret: str
    redirect_uri: str
    environment: str = "production"
    discovery_url: str | None = None  # Intuit's for the environment when empty
    source: str = ""

    def __repr__(self) -> str:  # never print the secret
        return (f"PublisherProfile(app_name={self.app_name!r}, client_id={self.client_id!r}, "
                f"environment={self.environment!r}, source={self.source!r})")


def profile_path() -> Path:
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else resource(FILE_NAME)


def load_profile() -> PublisherProfile | None:
    """The profile, or None when none is shipped; a broken one is a plain configuration error."""
    path = profile_path()
    if not path.is_file():
        if os.environ.get(ENV_VAR):
            raise ConfigurationError(f"The publisher profile {path} does not exist.", field="publisher",
                                     title="Publisher profile missing",
                                     hint=f"Fix or unset {ENV_VAR}, or use Advanced on the Connect page.")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = PublisherProfile(
            app_name=str(data.get("app_name") or "QBO Sync"),
            client_id=str(data["client_id"]).strip(),
            client_secret=str(data["client_secret"]).strip(),
            redirect_uri=str(data["redirect_uri"]).strip(),
            environment=str(data.get("environment") or "production"),
            discovery_url=(str(data["discovery_url"]).strip() or None) if data.get("discovery_url") else None,
            source=str(path),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"The publisher profile {path} cannot be read: {exc}", field="publisher",
                                 title="Publisher profile unreadable",
                                 hint="It needs client_id, client_secret and redirect_uri (see "
                                      "docs/connecting-real-quickbooks.md), or use Advanced on the Connect page.") from exc
    if not profile.client_id or not profile.client_secret or not profile.redirect_uri:
        raise ConfigurationError(f"The publisher profile {path} has an empty client_id, client_secret or redirect_uri.",
                                 field="publisher", title="Publisher profile incomplete",
                                 hint="Fill in the three keys from developer.intuit.com → Keys & credentials.")
    if profile.environment not in ENVIRONMENTS:
        raise ConfigurationError(f"The publisher profile's environment {profile.environment!r} is not one of "
                                 f"{', '.join(ENVIRONMENTS)}.", field="publisher",
                                 title="Publisher profile incomplete", hint="Use production or sandbox.")
    register_secret(profile.client_secret)
    return profile


__all__ = ["ENV_VAR", "PublisherProfile", "load_profile", "profile_path"]
