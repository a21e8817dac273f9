"""Create N customers (default 3,000) through ``QboClient.batch_chunked`` against the practice sandbox.

The sandbox runs with its throttle ON (500 requests/min, 10 in flight, 40 batch requests/min) and a
scaled clock (``--time-scale 60``: a throttle minute lasts one second). The client connects through
the real OAuth code path (loopback listener) with an in-memory keyring and a temporary data folder.

Printed: requests used (client and server counts), 429s the server sent, wall time, and the
throttle-bound floor: N/30 batch requests at 40 per minute. The rate floor is (N/30)/40 minutes
(2.5 scaled minutes for 3,000); with a sliding window the last batch may start after
ceil((N/30)/40) - 1 full windows, which is the hard lower bound on wall time.

    python bench/bench_qbo_batch.py [--customers 3000] [--time-scale 60] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time

import keyring
import requests

from qbosync_desktop.connectors.qbo.client import BATCH_LIMIT, BatchOp, QboClient
from qbosync_desktop.connectors.qbo.oauth.authorize import (
    Authorizer,
    OAuthConfig,
    TokenManager,
    save_client_secret,
)
from qbosync_desktop.connectors.qbo.ratelimit import RateLimits
from qbosync_desktop.core.keyring_memory import MemoryKeyring
from qbosync_desktop.core.paths import get_paths, set_home
from qbosync_desktop.core.secrets import SecretStore
from qbosync_desktop.sandbox.qbo import QboSandbox


def connect(sb: QboSandbox) -> tuple[OAuthConfig, str, SecretStore]:
    cfg = sb.config
    assert cfg is not None
    paths = get_paths().ensure()
    store = SecretStore(paths)
    save_client_secret(store, cfg.client_secret)
    oauth = OAuthConfig.from_discovery(cfg.discovery_url, cfg.client_id, cfg.redirect_uri, "practice", cfg.api_base)
    with Authorizer(oauth, store) as auth:
        url = auth.begin()
        location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
        requests.get(location, timeout=10)  # the browser following the redirect to the listener
        result = auth.complete(timeout=10)
    return oauth, result.realm_id, store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--time-scale", type=float, default=60.0)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    args = ap.parse_args(argv)

    keyring.set_keyring(MemoryKeyring())
    set_home(tempfile.mkdtemp(prefix="qbosync-bench-"))
    sb = QboSandbox(auto_consent=True, throttle=True, time_scale=args.time_scale, latency_ms=args.latency_ms,
                    seed="practice")
    sb.start()
    try:
        oauth, realm_id, store = connect(sb)
        tokens = TokenManager(store, get_paths(), oauth, realm_id)
        limits = RateLimits(time_scale=args.time_scale)
        client = QboClient(oauth.api_base, realm_id, tokens, limits=limits)
        before = dict(sb.stats)
        ops = [
            BatchOp(str(i % BATCH_LIMIT), "create", "Customer", {"DisplayName": f"Bench Customer {i:05d}"})
            for i in range(args.customers)
        ]
        started = time.monotonic()
        results = client.batch_chunked(ops, lambda chunk: f"bench-{chunk:04d}")
        wall = time.monotonic() - started
        after = sb.stats
    finally:
        sb.stop()

    ok = sum(1 for r in results if r.ok)
    batches = math.ceil(args.customers / BATCH_LIMIT)
    minute = 60.0 / args.time_scale
    rate_floor = batches / limits.batch_per_minute * minute
    window_floor = (math.ceil(batches / limits.batch_per_minute) - 1) * minute
    server_requests = after.get("requests", 0) - before.get("requests", 0)
    throttled = after.get("throttled", 0) - before.get("throttled", 0)
    print(f"customers created          {ok} / {args.customers}")
    print(f"batch requests (client)    {client.stats.requests}  (expected {batches})")
    print(f"API requests (server)      {server_requests}")
    print(f"429s sent by the server    {throttled}")
    print(f"time scale                 {args.time_scale:g} (a throttle minute = {minute:g} s)")
    print(f"wall time                  {wall:.2f} s = {wall / minute:.2f} scaled minutes")
    print(f"limiter waited (total)     {client.limiter.waited:.2f} s")
    print(f"throttle floor (rate)      {rate_floor:.2f} s = {batches}/{limits.batch_per_minute} = "
          f"{batches / limits.batch_per_minute:.2f} scaled minutes")
    print(f"throttle floor (window)    {window_floor:.2f} s (last batch may start after "
          f"{math.ceil(batches / limits.batch_per_minute) - 1} full windows)")
    return 0 if ok == args.customers and throttled == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
