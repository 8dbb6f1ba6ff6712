"""Run every benchmark against its own fresh `hallq run` and print one summary (`make bench`).

    .venv/bin/python bench/run_all.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import bench_call_display, bench_issue, bench_kiosk_printer, bench_print, bench_voice, common


def main() -> int:
    results = [bench_issue.run(), bench_call_display.run(), bench_print.run(), bench_kiosk_printer.run(),
               bench_voice.run()]
    for result in results:
        result.report()
    targets = [target for result in results for target in result.targets]
    print("\nSummary")
    common.print_targets(targets)
    return 0 if all(target.met for target in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
