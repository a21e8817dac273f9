"""With the sandbox's throttle on, a burst of mixed traffic from several threads meets no 429 at all."""

from __future__ import annotations

import threading
import time

from qbosync_desktop.connectors.qbo.client import BatchOp

TOTAL = 2000
THREADS = 6


def test_two_thousand_mixed_requests_never_meet_a_429(make_qbo_connection):
    # time_scale=60: a throttle "minute" lasts one second, so 2000 requests need at least 4 windows
    conn = make_qbo_connection(throttle=True, time_scale=60)
    client = conn.client
    customer_ids = [c["Id"] for c in conn.sandbox.store.all("Customer")][:5]
    counter = iter(range(TOTAL))
    lock = threading.Lock()
    failures: list[BaseException] = []

    def one(n: int) -> None:
        kind = n % 20
        if kind == 0:  # 5% batches: 100 batch requests, the 40-per-minute budget binds too
            ops = [BatchOp(str(i), "create", "Customer", {"DisplayName": f"Burst {n}-{i}"}) for i in range(3)]
            assert all(r.ok for r in client.batch(ops, requestid=f"burst-batch-{n}"))
        elif kind < 5:
            client.create("Customer", {"DisplayName": f"Burst {n}"}, requestid=f"burst-{n}")
        elif kind < 12:
            client.get("Customer", customer_ids[n % len(customer_ids)])
        else:
            client.count("Invoice")

    def worker() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            try:
                one(n)
            except BaseException as exc:  # collected; the main thread asserts
                failures.append(exc)
                return

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    elapsed = time.monotonic() - started
    assert not failures, failures[:3]
    assert client.stats.requests == TOTAL
    assert conn.sandbox.stats.get("throttled", 0) == 0  # not one 429 was even sent
    assert client.stats.throttled == 0 and client.stats.retries == 0
    # and the limiter did not crawl: 2000 requests at 500 per 1 s window need ~4 s (real time: 4 min)
    assert elapsed < 30, elapsed
