"""What server/web_guard.py adds to each request (issue 14): its two hooks, timed alone, in-process.

    .venv/bin/python bench/bench_web_guard.py [--runs 20000]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from flask import Flask, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from server import web_guard

#: a clerk's call from the caller screen (JSON, its own Origin) and a page load
REQUESTS = {
    "POST /api/windows/1/call-next (JSON, own Origin)": {
        "path": "/api/windows/1/call-next", "method": "POST", "content_type": "application/json",
        "headers": {"Origin": "http://hall.local:5000", "Sec-Fetch-Site": "same-origin"}},
    "GET /caller": {"path": "/caller", "method": "GET", "headers": {}},
}


def timed(app: Flask, runs: int, **request: object) -> list[float]:
    """Seconds that both hooks took on each of ``runs`` requests."""
    seconds = []
    with app.test_request_context(base_url="http://hall.local:5000", **request):  # type: ignore[arg-type]
        for _ in range(runs):
            response = Response("{}", mimetype="application/json")
            start = time.perf_counter()
            web_guard.refuse_forged_requests()
            web_guard.harden(response)
            seconds.append(time.perf_counter() - start)
    return sorted(seconds)


def main() -> None:
    runs = common.arguments(__doc__ or "", runs=20000).runs
    app = Flask(__name__)
    app.add_url_rule("/caller", "caller.page", lambda: "")
    app.add_url_rule("/api/windows/<int:window>/<action>", "api.window_action", lambda window, action: "",
                     methods=["POST"])
    print(f"{'request':52} {'p50':>9} {'p99':>9}  ({runs} runs)")
    for name, request in REQUESTS.items():
        seconds = timed(app, runs, **request)
        p50, p99 = (common.percentile(seconds, p) * 1e6 for p in (50, 99))
        print(f"{name:52} {p50:7.1f} µs {p99:7.1f} µs")


if __name__ == "__main__":
    main()
