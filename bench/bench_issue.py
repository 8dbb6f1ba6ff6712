"""Ticket issue latency against a real `hallq run`: one kiosk in a row, then eight kiosks at once.

    .venv/bin/python bench/bench_issue.py [--profile issue.speedscope.json]
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common

WARM_UP = 100
SEQUENTIAL = 2000
CLIENTS = 8
PER_CLIENT = 500
JOIN_TIMEOUT = 300.0  # seconds for the whole concurrent run
SERVICES = common.service_codes()  # 6100 tickets over 25 services: ~244 a service, far below the 999 a day


@dataclass
class Tally:
    """What a run of kiosk requests got back: latencies of the successes, their numbers, the failures."""

    latencies: list[float] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.numbers += other.numbers
        self.errors += other.errors


def issue_many(hall: common.LiveHall, count: int, first: int, step: int = 1) -> Tally:
    """``count`` tickets from one keep-alive session, service number ``first``, ``first + step``, ... (mod 24)."""
    tally = Tally()
    url = f"{hall.url}/api/tickets"
    with hall.kiosk() as session:
        session.trust_env = False  # never through a proxy: 127.0.0.1 only
        for i in range(count):
            service = SERVICES[(first + i * step) % len(SERVICES)]
            start = time.perf_counter()
            try:
                answer = session.post(url, json={"service": service}, timeout=common.HTTP_TIMEOUT)
            except requests.RequestException as exc:
                tally.errors.append(repr(exc))
                continue
            elapsed = time.perf_counter() - start
            if answer.status_code == 201:
                tally.latencies.append(elapsed)
                tally.numbers.append(answer.json()["ticket"]["number"])
            else:
                tally.errors.append(f"{answer.status_code} {answer.text[:200]}")
    return tally


def concurrent(halls: Sequence[common.LiveHall], clients: int = CLIENTS, per_client: int = PER_CLIENT
               ) -> tuple[Tally, float, dict[str, Any]]:
    """``clients`` threads, each its own session, client k on process k mod len(``halls``) (the processes of one
    hall), released together; returns the tally, wall time and CPU use (of all the processes)."""
    tallies = [Tally() for _ in range(clients)]
    ready = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        ready.wait()
        tallies[k] = issue_many(halls[k % len(halls)], per_client, first=k, step=clients)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    watch = common.CpuWatch(*map(common.pid_of, halls), database=common.database_name(halls[0]))
    ready.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(0.0, start + JOIN_TIMEOUT - time.perf_counter()))
    wall = time.perf_counter() - start
    cpu = watch.report(clients * per_client)
    total = Tally()
    for tally in tallies:
        total.add(tally)
    if any(thread.is_alive() for thread in threads):
        total.errors.append(f"a client thread did not finish within {JOIN_TIMEOUT:g} s")
    return total, wall, cpu


def run(profile: Path | None = None) -> common.Result:
    speed = common.speed_index()
    with common.live_hall(profile) as hall:
        assert hall.process is not None
        everything = issue_many(hall, WARM_UP, first=0)
        watch = common.CpuWatch(hall.process.pid)
        single = issue_many(hall, SEQUENTIAL, first=WARM_UP)
        cpu_single = watch.report(SEQUENTIAL)
        many, wall, cpu_many = concurrent([hall], CLIENTS, PER_CLIENT)  # read now: wrappers may set them
    everything.add(single)
    everything.add(many)
    duplicates = len(everything.numbers) - len(set(everything.numbers))
    throughput = len(many.latencies) / wall
    one, several = "issue, 1 client (sequential)", f"issue, {CLIENTS} concurrent clients"
    stats = {one: common.Stats.of(single.latencies), several: common.Stats.of(many.latencies)}
    targets = [common.Target("issue p50, 1 client", stats[one].p50, 5, "ms"),
               common.Target(f"issue throughput, {CLIENTS} clients", throughput, 300, "/s", at_least=True),
               common.Target("duplicate numbers", duplicates, 0, ""),
               common.Target("errors", len(everything.errors), 0, "")]
    extra = {"python speed index (ms, lower is faster)": speed,
             "tickets issued": len(everything.numbers),
             f"{CLIENTS}-client throughput (tickets/s)": round(throughput, 1),
             f"{CLIENTS}-client wall time (s)": round(wall, 2),
             "first errors": everything.errors[:5],
             **{f"1-client {key}": value for key, value in cpu_single.items()},
             **{f"{CLIENTS}-client {key}": value for key, value in cpu_many.items()}}
    return common.Result("issue", "Ticket issue (POST /api/tickets, keep-alive sessions)", stats, targets, extra)


if __name__ == "__main__":
    run(common.arguments(__doc__ or "").profile).report()
