"""A local QuickBooks Online v3 + OAuth 2 server that QBO clients cannot tell from the real thing.

See docs/qbo-sandbox.md. In-process use::

    from qbosync_desktop.sandbox.qbo import QboSandbox
    sb = QboSandbox(auto_consent=True, throttle=False)
    cfg = sb.start()          # cfg.base_url, cfg.api_base, cfg.realm_id, cfg.client_id, ...
    sb.user.update_customer("1", DisplayName="Ann Lee-Park")
    sb.store.all("Customer")
    sb.stop()
"""

from qbosync_desktop.sandbox.qbo.faults import ApiFault
from qbosync_desktop.sandbox.qbo.server import QboSandbox, SandboxConfig, SandboxUser, StoreView

__all__ = ["ApiFault", "QboSandbox", "SandboxConfig", "SandboxUser", "StoreView"]
