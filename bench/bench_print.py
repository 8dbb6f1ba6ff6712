"""Ticket printing: render + send per mode (80 mm paper) to a fake ESC/POS printer in another process.

Each send opens a TCP connection, checks the status (DLE EOT 1 and 4), writes the job, checks again and closes,
as for a real network printer; the fake answers at once, so this is hallq's own cost, not a printer's.

    .venv/bin/python bench/bench_print.py [--tickets N]
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from datetime import datetime, timedelta
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from server.config import HallConfig, load_config
from server.printing.device import PrinterFault, send
from server.printing.settings import Connection, PrinterConfig, TicketLayout
from server.printing.ticket import TicketPrint, render
from server.wayfinding import Wayfinding
from tests.printing.escpos_decode import decode
from tests.printing.fake_printer import FakePrinter

TICKETS = 300
WARM_UP = 20
TIMEOUT = 3.0  # seconds: the printer timeout, so no send can hang longer
MODES = ("text", "image")
OPENING, EVERY = datetime(2026, 11, 30, 8, 30), timedelta(seconds=20)
TAGS = (None, None, "绿色通道", None, "预约")
NOTICES = (None, "请携带：户口簿、原身份证",
           "请携带：户口簿、原身份证、近期免冠彩色照片一张（白底），未满十六周岁的还需监护人陪同并携带其身份证")


def ticket(hall: HallConfig, i: int) -> TicketPrint:
    """A realistic ticket, varied over the demo hall's services, tags and notices; every 50th a reprint."""
    service = hall.services[i % len(hall.services)]
    windows = Wayfinding(hall).places(hall.windows_serving(service.code))
    issued_at = OPENING.replace(tzinfo=hall.timezone) + i * EVERY
    return TicketPrint(hall_name=hall.name, number=f"{service.prefix}{i % 1000:03d}", service_name=service.name,
                       waiting_ahead=i % 37, issued_at=issued_at, windows=windows, tag=TAGS[i % len(TAGS)],
                       track_url=f"https://hall.example.gov.cn/t/{i:032x}?h=chengguan",
                       notice=NOTICES[i % len(NOTICES)], reprint=i % 50 == 49)


def fake_printer(pipe: Pipe) -> None:
    """The other process: a FakePrinter; when told how many jobs to expect, checks each one decodes."""
    with FakePrinter() as printer:
        pipe.send(printer.port)
        expected = pipe.recv()
        jobs = printer.wait_for_jobs(expected, timeout=60)
    bad = 0
    for job in jobs:
        out = decode(job)
        bad += out.cuts != 1 or not (out.qr_payloads or out.images)
    pipe.send({"jobs": len(jobs), "bytes": sum(map(len, jobs)), "undecodable": bad})


def measure(hall: HallConfig, config: PrinterConfig, count: int) -> tuple[dict[str, list[float]], list[int], list[str]]:
    """Render and send WARM_UP + count tickets; the seconds of each step after the warm-up, bytes, errors."""
    layout = TicketLayout()
    seconds: dict[str, list[float]] = {"render": [], "send": [], "render + send": []}
    sizes: list[int] = []
    errors: list[str] = []
    for i in range(WARM_UP + count):
        start = time.perf_counter()
        data = render(ticket(hall, i), layout, config)
        rendered = time.perf_counter()
        try:
            send(config, data)
        except PrinterFault as fault:
            errors.append(str(fault))
            continue
        sent = time.perf_counter()
        if i >= WARM_UP:
            seconds["render"].append(rendered - start)
            seconds["send"].append(sent - rendered)
            seconds["render + send"].append(sent - start)
            sizes.append(len(data))
    return seconds, sizes, errors


def run(tickets: int = TICKETS) -> common.Result:
    common.wait_for_quiet()
    speed = common.speed_index()
    hall = load_config(common.ROOT / "config.toml")
    pipe, child_end = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=fake_printer, args=(child_end,), daemon=True)
    child.start()
    try:
        port = pipe.recv()
        stats: dict[str, common.Stats] = {}
        sizes: dict[str, list[int]] = {}
        errors: list[str] = []
        for mode in MODES:
            config = PrinterConfig("bench", Connection("network", "127.0.0.1", port, timeout=TIMEOUT), mode=mode)
            seconds, sizes[mode], failed = measure(hall, config, tickets)
            errors += failed
            stats.update({f"{mode}: {step}": common.Stats.of(values) for step, values in seconds.items()})
        pipe.send(len(MODES) * (WARM_UP + tickets) - len(errors))
        received = pipe.recv()
    finally:
        child.join(timeout=90)
        if child.is_alive():
            child.kill()
    median = {mode: sorted(values)[len(values) // 2] for mode, values in sizes.items()}
    targets = [common.Target("text render + send p99", stats["text: render + send"].p99, 20, "ms"),
               common.Target("text bytes per ticket (max)", max(sizes["text"]), 1024, "B"),
               common.Target("image render + send p99", stats["image: render + send"].p99, 100, "ms"),
               common.Target("send errors + bad jobs", len(errors) + received["undecodable"], 0, "")]
    extra = {"python speed index (ms, lower is faster)": speed,
             "tickets per mode": tickets,
             **{f"{mode} bytes per ticket (median / max)": f"{median[mode]} / {max(sizes[mode])}" for mode in MODES},
             "jobs received by the fake printer": received["jobs"],
             "first errors": errors[:5]}
    return common.Result("print", "Ticket printing (render + send to a fake network printer, 80 mm)", stats,
                         targets, extra)


if __name__ == "__main__":
    run(common.arguments(__doc__ or "", tickets=TICKETS).tickets).report()
