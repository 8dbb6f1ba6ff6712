"""Kiosk ticket latency while 16 clients flood POST /api/auth/login with wrong passwords (issue 14, finding 1).

Three phases against one real `hallq run`: quiet; 16 flooders each from its own address (127.0.0.2-17, keep-alive:
the per-address slowdown soon answers them 429 without hashing); 16 flooders on a fresh source address for every
attempt (127.x.y.z: no address is ever slowed down, so every attempt that gets in costs a real scrypt hash; this is
the phase that shows the hashes off the event loop and their bound, not the throttle).

    .venv/bin/python bench/bench_login_flood.py [--tickets N]
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common

FLOODERS = 16
TICKETS = 300  # kiosk tickets measured per phase
WARM_UP = 50
#: seconds the flood runs before the kiosk measures: the hall-wide allowance of wrong passwords (20 at once, then
#: 4 a second: server/auth.py LOGIN_ANYWHERE) is spent after about 5 s of flood; until then hashes take a core
HEAD_START = 6.0
SERVICES = common.service_codes()


def kiosk_latencies(hall: common.LiveHall, count: int, first: int) -> list[float]:
    """``count`` tickets from the kiosk, one after another on a keep-alive connection: seconds each."""
    seconds = []
    with hall.kiosk() as session:
        session.trust_env = False
        for i in range(count):
            start = time.perf_counter()
            answer = session.post(f"{hall.url}/api/tickets", json={"service": SERVICES[(first + i) % len(SERVICES)]},
                                  timeout=common.HTTP_TIMEOUT)
            seconds.append(time.perf_counter() - start)
            assert answer.status_code == 201, answer.text
    return seconds


def fresh_addresses() -> Iterator[str]:
    for b, c, d in itertools.product(range(1, 255), range(1, 255), range(1, 255)):
        yield f"127.{b}.{c}.{d}"


class Flood:
    """FLOODERS threads posting wrong logins (a new username every try) until stopped, in a process of their own
    so that they do not take the measuring kiosk's GIL; answers counted by status and error code."""

    def __init__(self, hall: common.LiveHall, fresh: bool):
        self.port, self.fresh = hall.port, fresh
        context = multiprocessing.get_context("fork")
        self.stop, self.counted = context.Event(), context.Queue()
        self.process = context.Process(target=self._run, daemon=True)
        self.answers: dict[str, int] = {}

    def __enter__(self) -> Flood:
        self.process.start()
        time.sleep(HEAD_START)  # a sustained flood is measured, past the hall-wide burst of wrong passwords
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.answers = self.counted.get(timeout=60)
        self.process.join(timeout=30)

    def _run(self) -> None:
        answers: Counter[str] = Counter()
        addresses, lock = fresh_addresses(), threading.Lock()

        def connect(k: int) -> http.client.HTTPConnection:
            with lock:
                source = next(addresses) if self.fresh else f"127.0.0.{k + 2}"
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=common.HTTP_TIMEOUT,
                                              source_address=(source, 0))

        def flood(k: int) -> None:
            connection = connect(k)
            for n in itertools.count():
                if self.stop.is_set():
                    break
                if self.fresh and n:
                    connection.close()
                    connection = connect(k)
                body = json.dumps({"username": f"guess-{k}-{n}", "password": "wrong-guess"})
                try:
                    connection.request("POST", "/api/auth/login", body, {"Content-Type": "application/json"})
                    answer = connection.getresponse()
                    payload = json.loads(answer.read() or b"{}")
                    code = f"{answer.status} {payload.get('error', {}).get('code', '')}"
                except (OSError, http.client.HTTPException) as exc:
                    code = type(exc).__name__
                    connection.close()
                    connection = connect(k)
                with lock:
                    answers[code] += 1
            connection.close()

        threads = [threading.Thread(target=flood, args=(k,), daemon=True) for k in range(FLOODERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.counted.put(dict(answers))


def run(tickets: int = TICKETS) -> common.Result:
    """Quiet, flood, quiet, flood, quiet: issuing gets dearer as the line grows (every answer places the ticket in
    it), so each flood is compared with the mean of the quiet runs just before and after it, at the same length."""
    speed = common.speed_index()
    floods = (("16 flooders, 16 addresses", False), ("16 flooders, a new address each try", True))
    issued = WARM_UP
    with common.live_hall() as hall:
        kiosk_latencies(hall, WARM_UP, 0)
        quiet = [kiosk_latencies(hall, tickets, issued)]
        phases = {}
        for name, fresh in floods:
            issued += tickets
            start = time.perf_counter()
            with Flood(hall, fresh) as flood:
                seconds = kiosk_latencies(hall, tickets, issued)
            phases[name] = (seconds, flood.answers, sum(flood.answers.values()) / (time.perf_counter() - start))
            issued += tickets
            quiet.append(kiosk_latencies(hall, tickets, issued))
    stats = {**{f"issue, quiet ({i + 1})": common.Stats.of(seconds) for i, seconds in enumerate(quiet)},
             **{f"issue, {name}": common.Stats.of(seconds) for name, (seconds, _, _) in phases.items()}}
    targets = [common.Target(f"issue p50 / quiet p50 around it, {name}", stats[f"issue, {name}"].p50
                             / ((stats[f"issue, quiet ({i + 1})"].p50 + stats[f"issue, quiet ({i + 2})"].p50) / 2),
                             2, "x")
               for i, name in enumerate(phases)]
    extra = {"python speed index (ms, lower is faster)": speed,
             **{f"login answers, {name}": answers for name, (_, answers, _) in phases.items()},
             **{f"login attempts/s, {name}": round(rate) for name, (_, _, rate) in phases.items()}}
    return common.Result("login_flood", "Kiosk issue (POST /api/tickets) while 16 clients flood wrong logins",
                         stats, targets, extra)


if __name__ == "__main__":
    run(common.arguments(__doc__ or "", tickets=TICKETS).tickets).report()
