"""The client-side limiter keeps a company under 500/min, 10/s, 10 in flight and 40 batches/min."""

from __future__ import annotations

import threading

import pytest

from qbosync_desktop.connectors.qbo.ratelimit import RateLimiter, RateLimits, shared_limiter
from qbosync_desktop.core.errors import Cancelled


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make(limits: RateLimits | None = None) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(limits or RateLimits(), clock=clock, sleep=clock.sleep), clock


def send(limiter: RateLimiter, clock: FakeClock, n: int, batch: bool = False, duration: float = 0.0) -> list[float]:
    """n sequential requests, each taking ``duration``; returns the send times."""
    sent = []
    for _ in range(n):
        with limiter.acquire(batch=batch):
            sent.append(clock.now)
            clock.now += duration
    return sent


def max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_ten_per_second_then_waits_for_the_oldest_to_leave_the_window():
    limiter, clock = make()
    sent = send(limiter, clock, 25)
    assert sent[:10] == [1000.0] * 10
    assert sent[10] == pytest.approx(1001.0)
    assert max_in_window(sent, 1.0) == 10


def test_five_hundred_per_minute():
    limiter, clock = make()
    sent = send(limiter, clock, 1100)
    assert max_in_window(sent, 60.0) == 500
    assert max_in_window(sent, 1.0) == 10
    # 500 go out in the first 50 s (10/s), request 501 waits for the first minute to pass
    assert sent[499] == pytest.approx(1049.0)
    assert sent[500] == pytest.approx(1060.0)


def test_batches_are_limited_to_forty_per_minute_and_count_as_requests():
    limiter, clock = make()
    sent = send(limiter, clock, 40, batch=True)
    clock.now += 5
    # plain requests are not held back by the batch budget, batches are
    assert limiter.delay(batch=False) == 0.0
    assert limiter.delay(batch=True) == pytest.approx(1060.0 - clock.now)
    sent += send(limiter, clock, 1, batch=True)
    assert max_in_window(sent, 60.0) == 40
    assert sent[40] == pytest.approx(1060.0)


def test_a_finished_request_counts_from_when_its_response_ended():
    """The server counts a request on arrival, somewhere before our response ends: counting from
    the end keeps our window at least as full as the server's."""
    limiter, clock = make()
    sent = send(limiter, clock, 11, duration=0.5)
    # 10 requests took 5 s; the first ended at 1000.5, so the 11th may go at 1001.5 at the earliest
    assert sent[10] >= 1000.5 + 1.0 - 1e-9


def test_in_flight_requests_count_and_block_beyond_ten():
    limiter, clock = make(RateLimits(per_second=100, per_minute=1000))
    permits = [limiter.acquire() for _ in range(10)]
    assert limiter.in_flight() == 10
    assert limiter.delay() is None  # only a release can make room
    permits[0].release()
    assert limiter.delay() == 0.0
    for p in permits[1:]:
        p.release()


def test_a_waiting_thread_proceeds_when_a_permit_is_released():
    limiter = RateLimiter(RateLimits(concurrent=1, time_scale=1000))
    first = limiter.acquire()
    got = threading.Event()

    def second() -> None:
        with limiter.acquire():
            got.set()

    t = threading.Thread(target=second)
    t.start()
    assert not got.wait(0.2)
    first.release()
    assert got.wait(2)
    t.join()


def test_time_scale_divides_every_window():
    limits = RateLimits(time_scale=60)
    assert limits.minute == 1.0 and limits.second == pytest.approx(1 / 60)
    limiter, clock = make(limits)
    sent = send(limiter, clock, 501)
    assert sent[500] - sent[0] == pytest.approx(1.0)


def test_pause_after_a_429_holds_everyone():
    limiter, clock = make()
    limiter.pause(60)
    assert limiter.delay() == pytest.approx(60)
    sent = send(limiter, clock, 1)
    assert sent[0] == pytest.approx(1060.0)


def test_cancel_stops_a_waiting_acquire():
    limiter, _ = make()
    limiter.pause(3600)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        limiter.acquire(cancel=cancel)


def test_clients_of_one_company_share_one_limiter():
    a = shared_limiter("realm-1", RateLimits(time_scale=7))
    assert shared_limiter("realm-1", RateLimits(time_scale=7)) is a
    assert shared_limiter("realm-2", RateLimits(time_scale=7)) is not a
