"""End to end: a real `hallq run` (gevent) ships its events to a district on a free port (tests/wire_district.py)
and the admin's 运行状态 page says how far behind the district is: in step, then behind while the district is down
(the hall issuing tickets as ever), then in step again once it returns, every event filed once."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from sqlalchemy import create_engine, text

from tests.e2e import test_browser
from tests.e2e.test_admin_browser import ADMIN
from tests.e2e.test_browser import CHROMIUM, new_page
from tests.live import ROOT, LiveHall
from tests.unit.test_shipper import CODE, TOKEN, district_table
from tests.wire_district import WireDistrict

browser = test_browser.browser  # the same module-scoped headless Chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

#: a district that was down comes back within the shipper's backoff (1, 2, 4 … s) and a page refresh
RETURN_MS = 30_000


def test_the_health_page_follows_the_link_to_the_district(browser: Browser, contexts: list[BrowserContext],
                                                          tmp_path: Path) -> None:
    district = WireDistrict({TOKEN: CODE})
    config = tmp_path / "hall.toml"
    config.write_text((ROOT / "config.toml").read_text(encoding="utf-8") + district_table(district.url),
                      encoding="utf-8")
    hall = LiveHall(tmp_path / "instance", config).prepare().start()
    try:
        hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "hukou-id"}).raise_for_status()
        page = new_page(browser, f"{hall.url}/admin/health", ADMIN, contexts)
        page.fill("#username", "admin")
        page.fill("#password", hall.passwords["admin"])
        page.get_by_role("button", name="登录").click()
        row = page.locator("#health tbody tr", has_text="区级上报")
        expect(row).to_contain_text("落后 0 条 / 0 秒，最近一次上报")
        expect(row).to_contain_text("正常")

        held = district.copies
        district.close()
        for _ in range(2):
            hall.kiosk().post(f"{hall.url}/api/tickets", json={"service": "hukou-id"}).raise_for_status()
        page.reload()
        expect(row).to_contain_text("无法连接区级服务器（ConnectionError）", timeout=RETURN_MS)
        expect(row).to_contain_text("落后 2 条")
        expect(row).to_contain_text("异常")
        assert TOKEN not in page.content()

        district = WireDistrict({TOKEN: CODE}, district.port)  # back, with what it held before
        district.copies = held
        expect(row).to_contain_text("落后 0 条", timeout=RETURN_MS)  # the page refreshes itself
        expect(row).to_contain_text("正常")
        ids = _event_ids(hall)
        assert len(ids) >= 3 and list(held[CODE].events) == ids and sorted(set(held[CODE].sent)) == ids
        log = hall.log_path.read_text(encoding="utf-8")
        assert "district link: 无法连接区级服务器" in log and TOKEN not in log
    finally:
        hall.stop()
        district.close()


def _event_ids(hall: LiveHall) -> list[int]:
    database = create_engine(f"sqlite:///{hall.instance / 'hallq.db'}")
    try:
        with database.connect() as connection:
            return list(connection.scalars(text("SELECT id FROM ticket_events ORDER BY id")))
    finally:
        database.dispose()
