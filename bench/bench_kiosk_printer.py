"""The kiosk's answer time with a healthy, a silent and a switched-off printer, against a real `hallq run`.

The ticket is saved and answered before the printer is tried, so a printer that hangs for its whole timeout
(silent) or refuses at once (off) must not show in the kiosk's answer. One kiosk, sequential requests, the
same hall and fake network printer (in this process) for each state, in a fresh hall each; requests are
spaced by GAP so each measures one kiosk answer, not the previous ticket's printing.

    .venv/bin/python bench/bench_kiosk_printer.py [--tickets N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from tests.api.test_printing import printing_hall
from tests.live import LiveHall
from tests.printing.fake_printer import FakePrinter

TICKETS = 200
WARM_UP = 10
PRINTER_TIMEOUT = 3.0  # seconds: a silent printer holds each job this long
#: seconds between two tickets: a busy kiosk issues one every few seconds; back to back, the healthy printer's
#: own work (render, send, recording the outcome) would compete with the next request and be counted
GAP = 0.05
STATES: dict[str, Callable[[FakePrinter], None]] = {
    "healthy printer": lambda printer: None,
    "silent printer (hangs 3 s a job)": lambda printer: setattr(printer, "silent", True),
    "printer switched off (refuses)": FakePrinter.close,
}


def answers(state: Callable[[FakePrinter], None], tickets: int) -> list[float]:
    """Seconds of each kiosk request after the warm-up, with the printer put in ``state`` first."""
    common.wait_for_quiet()
    with tempfile.TemporaryDirectory(prefix="hallq-bench-") as folder, FakePrinter() as printer:
        config = Path(folder) / "hall.toml"
        config.write_text(printing_hall(printer.port, timeout=PRINTER_TIMEOUT), encoding="utf-8")
        hall = LiveHall(Path(folder) / "instance", config=config).prepare().start()
        try:
            state(printer)
            kiosk = requests.Session()
            kiosk.headers["Authorization"] = f"Bearer {hall.kiosk_token}"
            seconds = []
            for i in range(WARM_UP + tickets):
                time.sleep(GAP)
                start = time.perf_counter()
                answer = kiosk.post(f"{hall.url}/api/tickets", json={"service": ("id-card", "hukou")[i % 2]},
                                    timeout=common.HTTP_TIMEOUT)
                answer.raise_for_status()
                if i >= WARM_UP:
                    seconds.append(time.perf_counter() - start)
            return seconds
        finally:
            hall.stop()


def run(tickets: int = TICKETS) -> common.Result:
    speed = common.speed_index()
    stats = {name: common.Stats.of(answers(state, tickets)) for name, state in STATES.items()}
    healthy = stats["healthy printer"].p50
    targets = [common.Target(f"{name} p50, over healthy", stats[name].p50 - healthy, 2.0, "ms")
               for name in list(STATES)[1:]]
    extra = {"python speed index (ms, lower is faster)": speed, "tickets per state": tickets,
             "printer timeout (s)": PRINTER_TIMEOUT, "gap between tickets (s)": GAP}
    return common.Result("kiosk_printer", "Kiosk answer time by printer state (one kiosk, sequential)", stats,
                         targets, extra)


if __name__ == "__main__":
    run(common.arguments(__doc__ or "", tickets=TICKETS).tickets).report()
