"""`hallq demo`, as `make run` runs it at every start: the same accounts and screen addresses each time."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from server.cli import DEMO_TOKENS, main
from server.hall import Hall, Settings
from tests.live import ROOT


def demo(instance: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Run `hallq demo`; the screen addresses it prints, by screen."""
    assert main(["demo", "--config", str(ROOT / "config.toml"), "--instance", str(instance)]) == 0
    return dict(re.findall(r"^  (\w+) +(http://\S+)", capsys.readouterr().out, re.MULTILINE))


def test_demo_twice_prints_the_same_addresses_and_the_first_tokens_still_open_their_devices(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    first = demo(tmp_path, capsys)
    assert set(first) == {"kiosk", "display", "window", "caller", "guide", "rating", "admin"}
    assert demo(tmp_path, capsys) == first
    hall = Hall.open(Settings.resolve(ROOT / "config.toml", tmp_path))
    try:
        for screen, device in (("kiosk", "kiosk-1"), ("display", "display-1"), ("rating", "rate-1")):
            token = first[screen].split("#token=")[1]
            assert hall.accounts.device(token).name == device  # type: ignore[union-attr]
        assert hall.accounts.login("clerk1", "clerk-demo-2026", "127.0.0.1").name == "clerk1"
        assert stat.S_IMODE((tmp_path / DEMO_TOKENS).stat().st_mode) == 0o600
        hall.accounts.add_device("kiosk-1", "kiosk")  # the technician re-adds the kiosk: its kept token is void
    finally:
        hall.storage.dispose()
    third = demo(tmp_path, capsys)
    assert third["kiosk"] != first["kiosk"]  # a new token that works, not the void one
    assert {screen: third[screen] for screen in ("display", "rating")} == {
        screen: first[screen] for screen in ("display", "rating")}
    assert demo(tmp_path, capsys) == third
