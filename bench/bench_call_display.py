"""Call-next → display latency: N Socket.IO displays (200 by default) connected while a clerk calls the next resident.

One asyncio process holds the displays (python-socketio AsyncClient, websocket transport) and the clerk
(aiohttp), so sending and receiving are timed with the same time.perf_counter().

    .venv/bin/python bench/bench_call_display.py [--displays 200] [--calls 200] [--profile call.speedscope.json]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common

DISPLAYS = 200
CALLS = 200
WARM_UP = 5
LEFT_WAITING = 95  # tickets still waiting after the last call (300 issued in all with the default 200 calls)
GAP = 0.5  # seconds between calls: longer than the snapshot coalescing (0.2 s), so calls are measured one by one
CONNECT_BATCH = 20
EVENT_TIMEOUT = 2.0  # a display that has not seen a call after this long counts as missing
WINDOW = 1


class Displays:
    """The display clients and when each `called` event reached each of them, by ticket number."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token
        self.clients: list[socketio.AsyncClient] = []
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)
        self.changed = asyncio.Event()

    def _client(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        async def called(data: dict[str, Any]) -> None:
            self.arrivals[data["ticket"]["number"]].append(time.perf_counter())
            self.changed.set()

        client.on("called", called)
        return client

    async def connect(self, count: int) -> None:
        for start in range(0, count, CONNECT_BATCH):
            batch = [self._client() for _ in range(min(CONNECT_BATCH, count - start))]
            self.clients += batch
            await asyncio.gather(*(c.connect(self.url, transports=["websocket"], auth={"token": self.token},
                                             wait_timeout=10) for c in batch))

    async def wait_for(self, number: str, timeout: float) -> list[float]:
        """Arrival times of `number` at the displays, once all have it or `timeout` has passed."""
        deadline = time.perf_counter() + timeout
        while len(self.arrivals[number]) < len(self.clients) and (left := deadline - time.perf_counter()) > 0:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                break
        return self.arrivals[number]

    async def close(self) -> None:
        await asyncio.gather(*(asyncio.wait_for(c.disconnect(), 10) for c in self.clients), return_exceptions=True)


@dataclass
class Calls:
    """Per measured call: the HTTP round trip and when the displays got it, in seconds from the send."""

    displays: int
    http: list[float] = field(default_factory=list)
    pairs: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    missing: int = 0
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, http: float, arrivals: list[float]) -> None:
        self.http.append(http)
        self.missing += self.displays - len(arrivals)
        if arrivals:
            self.pairs += arrivals
            self.first.append(min(arrivals))
            self.last.append(max(arrivals))


async def post(session: aiohttp.ClientSession, url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    async with session.post(url, json=payload, timeout=aiohttp.ClientTimeout(total=common.HTTP_TIMEOUT)) as answer:
        answer.raise_for_status()
        return await answer.json()


async def measure(hall: common.LiveHall, n_displays: int, n_calls: int) -> Calls:
    assert hall.process is not None
    services = common.window_services(WINDOW)
    displays = Displays(hall.url, hall.display_token)
    kiosk = aiohttp.ClientSession(headers={"Authorization": f"Bearer {hall.kiosk_token}"})
    clerk = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: keep cookies of 127.0.0.1

    async def call_next() -> tuple[float, list[float]]:
        """One call: the HTTP round trip and the displays' arrival times, in seconds from the send."""
        await asyncio.sleep(GAP)
        start = time.perf_counter()
        ticket = (await post(clerk, f"{hall.url}/api/windows/{WINDOW}/call-next"))["ticket"]
        answered = time.perf_counter()
        arrivals = await displays.wait_for(ticket["number"], EVENT_TIMEOUT)
        return answered - start, [t - start for t in arrivals]

    calls = Calls(n_displays)
    try:
        for i in range(WARM_UP + n_calls + LEFT_WAITING):
            await post(kiosk, f"{hall.url}/api/tickets", {"service": services[i % len(services)]})
        await post(clerk, f"{hall.url}/api/auth/login", {"username": "clerk1", "password": hall.passwords["clerk1"]})
        await post(clerk, f"{hall.url}/api/windows/{WINDOW}/sign-in")
        await displays.connect(n_displays)
        for _ in range(WARM_UP):
            await call_next()
        watch = common.CpuWatch(hall.process.pid)
        for _ in range(n_calls):
            calls.add(*await call_next())
        calls.cpu = watch.report(n_calls)
    finally:
        await displays.close()
        await kiosk.close()
        await clerk.close()
    return calls


def run(profile: Path | None = None, n_displays: int = DISPLAYS, n_calls: int = CALLS) -> common.Result:
    speed = common.speed_index()
    timeout = 120 + (WARM_UP + n_calls) * (GAP + EVENT_TIMEOUT)  # set-up, then every call at its slowest
    with common.live_hall(profile) as hall:
        calls = asyncio.run(asyncio.wait_for(measure(hall, n_displays, n_calls), timeout))
    pairs = common.Stats.of(calls.pairs)
    stats = {"call-next HTTP round trip": common.Stats.of(calls.http),
             f"call → display (all {n_displays}×{n_calls} pairs)": pairs,
             "call → first display": common.Stats.of(calls.first),
             "call → last display": common.Stats.of(calls.last)}
    targets = [common.Target("call → display p50", pairs.p50, 10, "ms"),
               common.Target("call → display p99", pairs.p99, 50, "ms"),
               common.Target("missing (call, display) pairs", calls.missing, 0, "")]
    extra = {"python speed index (ms, lower is faster)": speed, "displays": n_displays, "calls": n_calls,
             "gap between calls (s)": GAP, "missing (call, display) pairs": calls.missing, **calls.cpu}
    title = f"Call-next → `called` event at {n_displays} Socket.IO displays"
    name = "call_display" if n_displays == DISPLAYS else f"call_display_{n_displays}"
    return common.Result(name, title, stats, targets, extra)


if __name__ == "__main__":
    options = common.arguments(__doc__ or "", displays=DISPLAYS, calls=CALLS)
    run(options.profile, options.displays, options.calls).report()
