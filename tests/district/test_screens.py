"""The district's screens and read API (district/screens.py) over a district that received a real hall's days by
HTTP: the side-by-side figures and the drill-down say what the hall's own report says, the XLSX holds the same
numbers, the live board is pushed to logged-in district admins only, and nothing answers without a login."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask

from server.clock import ManualClock
from server.hall import Hall
from server.shipment import Gaps, collect, figures_config
from tests.district.conftest import TOKENS, admin_client, store
from tests.district.test_figures import CONFIG, DAYS, expected, local, morning, open_hall, shown

CODE = "dongcheng"
PERIOD = f"from={DAYS[0]}&to={DAYS[1]}"


def ship_all(app: Flask, hall: Hall, code: str = CODE) -> int:
    """The hall's batches from where the district stands, over HTTP as the shipper sends them; the last through."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKENS[code]}"
    after, gaps = client.get("/district/api/v1/events/through").json["through"], Gaps()
    while True:
        with hall.storage.read() as session:
            batch = collect(session, hall=code, config=figures_config(CONFIG), after=after, limit=200,
                            now=hall.settings.clock.now(), gaps=gaps, zone=hall.config.timezone)
        answer = client.post("/district/api/v1/events", data=json.dumps(batch.to_json()),
                             content_type="application/json")
        assert answer.status_code == 200, answer.json
        if batch.through == after:
            return after
        after = batch.through


@pytest.fixture
def shipped(district_app: Flask, clock: ManualClock, tmp_path: Path) -> Iterator[tuple[Flask, Hall]]:
    """A district whose hall dongcheng shipped two mornings (xishan never shipped)."""
    store(district_app).register()
    hall = open_hall(tmp_path, clock)
    luck = random.Random(23)
    for day in DAYS[:2]:
        morning(hall, clock, day, luck)
        ship_all(district_app, hall)
    yield district_app, hall
    hall.storage.dispose()


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "generated_at"}


def test_nothing_answers_without_a_district_login(shipped: tuple[Flask, Hall]) -> None:
    app, _ = shipped
    anonymous = app.test_client()
    for path in ("/district/api/v1/figures", f"/district/api/v1/halls/{CODE}/stats", "/district/api/v1/live",
                 f"/district/api/v1/halls/{CODE}/stats.xlsx"):
        answer = anonymous.get(f"{path}?{PERIOD}")
        assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized", path
    for path in ("/district/", f"/district/halls/{CODE}", "/district/live", "/district/export.xlsx"):
        answer = anonymous.get(path)
        assert answer.status_code == 302 and answer.location.startswith("/district/login?next="), path
    socket = app.extensions["district_socketio"].test_client(app, flask_test_client=anonymous)
    assert not socket.is_connected()


def test_side_by_side_and_drill_down_are_the_halls_own_figures(shipped: tuple[Flask, Hall]) -> None:
    app, hall = shipped
    admin = admin_client(app)
    ours = hall.stats.report(DAYS[0], DAYS[1])
    table = admin.get(f"/district/api/v1/figures?{PERIOD}").json
    assert [(h["code"], h["name"]) for h in table["halls"]] == [(CODE, "东城街道便民服务中心"),
                                                                ("xishan", "西山镇便民服务中心")]
    assert shown(table["halls"][0]["figures"]) == expected(ours) and table["halls"][1]["figures"] is None
    assert table["halls"][0]["figures"]["target_rate"] == 0.98 and ours["total"]["issued"] > 50
    assert without_time(admin.get(f"/district/api/v1/halls/{CODE}/stats?{PERIOD}").json) == without_time(ours)
    assert admin.get(f"/district/api/v1/figures?month={DAYS[0]:%Y-%m}").json["halls"][0]["figures"]["issued"] == \
        hall.stats.report(DAYS[0], DAYS[0])["total"]["issued"]  # November holds the first day only
    unknown = admin.get(f"/district/api/v1/halls/xishan/stats?{PERIOD}")
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "hall_not_found"
    bad = admin.get("/district/api/v1/figures?month=2026-13x")
    assert bad.status_code == 422 and bad.json["error"]["code"] == "bad_period"

    page = admin.get(f"/district/?{PERIOD}")
    assert page.status_code == 200 and "各大厅统计" in page.text and "尚未上报数据" in page.text
    assert f'<td>{ours["total"]["issued"]}</td>' in page.text
    assert f'href="/district/halls/{CODE}?from={DAYS[0]}&amp;to={DAYS[1]}"' in page.text
    drill = admin.get(f"/district/halls/{CODE}?{PERIOD}")
    assert drill.status_code == 200 and f'data-api="/district/api/v1/halls/{CODE}/stats"' in drill.text
    assert "<script>" not in drill.text and "style=" not in page.text  # the CSP: scripts and styles are files
    for script in ("/district/admin/static/stats.js", "/district/admin/static/admin.js",
                   "/district/screens/static/drill.js"):
        assert script in drill.text and admin.get(script).status_code == 200
    assert admin.get("/district/halls/xishan").status_code == 404


def test_the_xlsx_holds_the_side_by_side_numbers(shipped: tuple[Flask, Hall]) -> None:
    app, hall = shipped
    answer = admin_client(app).get(f"/district/export.xlsx?{PERIOD}")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert "测试区政务服务中心" in rows[0][0] and f"{DAYS[0]} 至 {DAYS[1]}" in rows[1][0]
    header, dongcheng, xishan = rows[2], rows[3], rows[4]
    line = dict(zip(header, dongcheng, strict=True))
    total = hall.stats.report(DAYS[0], DAYS[1])["total"]
    assert (line["大厅"], line["取号"], line["办结"], line["投诉"]) == \
        ("东城街道便民服务中心", total["issued"], total["served"], total["complaints"]["received"])
    assert line["满意率(%)"] == round(total["satisfaction_rate"] * 100, 2)
    assert line["平均等候(分钟)"] == round(total["waiting"]["mean"] / 60, 2)
    assert line["承诺件超期未办结"] == total["promised"]["overdue"]
    assert xishan[:3] == ["xishan", "西山镇便民服务中心", None]


def test_the_live_board_is_pushed_to_logged_in_admins_after_each_batch(shipped: tuple[Flask, Hall],
                                                                        clock: ManualClock) -> None:
    app, hall = shipped
    admin = admin_client(app)
    socket = app.extensions["district_socketio"].test_client(app, flask_test_client=admin)
    assert socket.is_connected()
    clock.set(local(DAYS[2], 9, 0))
    for _ in range(5):
        clock.advance(minutes=1)
        hall.engine.issue("hukou-id", None, "device:kiosk-1")
    ship_all(app, hall)
    pushed = [message["args"][0] for message in socket.get_received() if message["name"] == "live"]
    assert pushed and pushed[-1]["code"] == CODE
    assert (pushed[-1]["waiting"], pushed[-1]["windows_open"]) == (5, 4)  # signed in since the first morning
    assert admin.get("/district/api/v1/live").json["halls"][0] == pushed[-1]
    page = admin.get("/district/live")
    assert page.status_code == 200 and "实时看板" in page.text and 'data-hall="xishan"' in page.text
