"""QuickBooks Online connector: OAuth 2 with rotating tokens, and the v3 Accounting API client.

Modules (one concept each):

* :mod:`.auth`      - app credentials from a discovery document, the authorization flow.
* :mod:`.loopback`  - the 127.0.0.1 listener that receives the browser's redirect.
* :mod:`.tokens`    - per-company tokens in the keyring; the single-flight, cross-process refresh.
* :mod:`.query`     - literal quoting and a small SELECT builder (the only way a value enters a query).
* :mod:`.faults`    - parse the three fault shapes and map codes to :mod:`qbosync_desktop.core.errors`.
* :mod:`.ratelimit` - the client-side per-company limiter that keeps us under Intuit's throttles.
* :mod:`.client`    - :class:`~.client.QboClient`: reads, writes, batch, CDC, with retries.

Nothing here touches the app database: persistence of the connection row belongs to the engine.
"""
