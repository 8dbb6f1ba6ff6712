"""`hallq district run` as a real process on a real socket: a hall's batches arrive over HTTP, a token revoked
by `hallq district revoke` (another process) is refused by the running server at once, the admin logs in."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from server.hall import Hall
from tests.district.conftest import ADMIN, ADMIN_PASSWORD, TOKENS, district_text
from tests.district.test_ingest import CODE, batches
from tests.district.test_ingest import hall as hall  # the fixture: a hall's busy day
from tests.live import HALLQ, ROOT, free_port
from tests.process.test_printing_process import eventually

pytestmark = pytest.mark.slow


def district(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HALLQ, "district", *args, "--config", str(config)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def served(tmp_path: Path, district_url: str) -> Iterator[tuple[str, Path]]:
    config = tmp_path / "district.toml"
    config.write_text(district_text(district_url), encoding="utf-8")
    assert district("init", config=config).returncode == 0
    made = subprocess.run([*HALLQ, "district", "user", "add", ADMIN, "--password-stdin", "--config", str(config)],
                          input=ADMIN_PASSWORD + "\n", cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    port = free_port()
    log = (tmp_path / "district.log").open("w")
    process = subprocess.Popen([*HALLQ, "district", "run", "--config", str(config), "--port", str(port)], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: _answers(f"{base}/district/login"), "the district server answers", timeout=30)
        yield base, config
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0, (tmp_path / "district.log").read_text()
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def test_a_hall_ships_over_http_and_a_revoked_token_stops_at_once(served: tuple[str, Path], hall: Hall) -> None:
    base, config = served
    bearer = {"Authorization": f"Bearer {TOKENS[CODE]}"}
    with requests.Session() as link:  # one kept-alive connection, as a hall's shipper holds it
        for body in batches(hall, 100):
            answer = link.post(f"{base}/district/api/v1/events", json=body, headers=bearer, timeout=10)
            assert answer.status_code == 200 and answer.json()["through"] == body["through"]
        through = link.get(f"{base}/district/api/v1/events/through", headers=bearer, timeout=10).json()["through"]
        assert through == body["through"] > 100
        assert district("revoke", CODE, config=config).returncode == 0
        refused = link.get(f"{base}/district/api/v1/events/through", headers=bearer, timeout=10)
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "bad_token")
    listed = district("halls", config=config).stdout
    assert f"{CODE}        revoked  through {through:<10} behind 0 " in listed

    with requests.Session() as browser:
        assert browser.get(f"{base}/district/api/v1/me", timeout=10).status_code == 401
        login = browser.post(f"{base}/district/api/v1/login", json={"username": ADMIN, "password": ADMIN_PASSWORD},
                             timeout=10)
        assert login.status_code == 200, login.text
        assert browser.get(f"{base}/district/api/v1/me", timeout=10).json()["user"]["username"] == ADMIN
