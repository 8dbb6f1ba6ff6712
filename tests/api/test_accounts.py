"""The admin's account screens over REST: staff (list, add, correct, reset, disable, enable) and devices (list with
the bound window, add with the token once and its address and QR code, replace, revoke); admin only."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from server.clock import ManualClock
from tests.api.conftest import HallApp, open_hall_app, password
from tests.api.quality import RATING_HALL, err

ADMIN_ONLY = [("get", "/api/staff"), ("post", "/api/staff"), ("patch", "/api/staff/clerk1"),
              ("post", "/api/staff/clerk1/password"), ("post", "/api/staff/clerk1/disable"),
              ("post", "/api/staff/clerk1/enable"), ("get", "/api/devices"), ("post", "/api/devices"),
              ("post", "/api/devices/kiosk-1/replace"), ("post", "/api/devices/kiosk-1/revoke")]


@pytest.fixture
def hall(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[HallApp]:
    """The test hall with rate-1 bound to window 1 in config.toml."""
    yield from open_hall_app(tmp_path, database_url, clock, RATING_HALL)


@pytest.fixture
def admin(hall: HallApp) -> FlaskClient:
    return hall.staff("admin")


def login(hall: HallApp, name: str, secret: str) -> FlaskClient:
    client = hall.app.test_client()
    answer = client.post("/api/auth/login", json={"username": name, "password": secret})
    assert answer.status_code == 200, answer.json
    return client


@pytest.mark.parametrize("who", ["clerk1", "guide", "nobody", "kiosk"])
def test_only_the_admin_manages_accounts(hall: HallApp, who: str) -> None:
    client = {"nobody": hall.app.test_client(), "kiosk": hall.kiosk()}.get(who) or hall.staff(who)
    for method, path in ADMIN_ONLY:
        answer = getattr(client, method)(path, json={})
        err(answer, 401 if who == "nobody" else 403, "unauthorized" if who == "nobody" else "forbidden")
        assert "\u4e00" <= answer.json["error"]["message"][0] <= "\u9fff"  # said in Chinese


def test_the_admin_adds_a_clerk_who_then_logs_in(hall: HallApp, admin: FlaskClient) -> None:
    answer = admin.post("/api/staff", json={"username": "clerk3", "name": "赵敏", "staff_no": "1003",
                                            "role": "clerk", "password": "zhao-min-2026"})
    assert answer.status_code == 201, answer.json
    assert answer.json["staff"] == {"username": "clerk3", "name": "赵敏", "staff_no": "1003", "role": "clerk",
                                    "party_member": False, "disabled": False, "disabled_at": None, "locked": False}
    assert "password" not in str(admin.get("/api/staff").json)
    staff = {s["username"]: s for s in admin.get("/api/staff").json["staff"]}
    assert set(staff) == {"admin", "clerk1", "clerk2", "clerk3", "guide"}
    clerk = login(hall, "clerk3", "zhao-min-2026")
    assert clerk.get("/api/auth/me").json["user"] == {"username": "clerk3", "role": "clerk", "name": "赵敏"}


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"role": "clerk", "password": "long-enough-1"}, 422, "missing_field"),
    ({"username": "x", "role": "boss", "password": "long-enough-1"}, 422, "bad_role"),
    ({"username": "x", "role": "clerk", "password": "short"}, 422, "weak_password"),
    ({"username": "x", "role": "clerk", "password": 12345678}, 422, "bad_field"),
    ({"username": "", "role": "clerk", "password": "long-enough-1"}, 422, "bad_username"),
    ({"username": "x", "role": "clerk", "password": "long-enough-1", "staff_no": "1" * 33}, 422, "bad_staff_no"),
    ({"username": "clerk1", "role": "clerk", "password": "long-enough-1"}, 409, "username_taken"),
])
def test_adding_a_member_checks_the_fields(admin: FlaskClient, fields: dict, status: int, code: str) -> None:
    err(admin.post("/api/staff", json=fields), status, code)
    err(admin.post("/api/staff", data="[]", content_type="application/json"), 400, "bad_json")


def test_the_taken_username_keeps_its_password(hall: HallApp, admin: FlaskClient) -> None:
    admin.post("/api/staff", json={"username": "clerk1", "role": "admin", "password": "taken-over-1"})
    login(hall, "clerk1", password("clerk1"))


def test_the_admin_corrects_name_number_and_role(hall: HallApp, admin: FlaskClient) -> None:
    answer = admin.patch("/api/staff/clerk1", json={"name": "王小红", "staff_no": "1001"})
    assert answer.status_code == 200, answer.json
    assert (answer.json["staff"]["name"], answer.json["staff"]["staff_no"]) == ("王小红", "1001")
    answer = admin.patch("/api/staff/clerk1", json={"role": "guide"})
    assert (answer.json["staff"]["role"], answer.json["staff"]["name"]) == ("guide", "王小红")
    assert hall.staff("clerk1").get("/api/auth/me").json["user"]["role"] == "guide"
    err(admin.patch("/api/staff/ghost", json={"name": "某"}), 404, "staff_not_found")
    err(admin.patch("/api/staff/clerk1", json={"role": "boss"}), 422, "bad_role")
    err(admin.patch("/api/staff/clerk1", json={"name": "长" * 65}), 422, "bad_display_name")


def test_the_last_admin_keeps_the_role(hall: HallApp, admin: FlaskClient) -> None:
    answer = admin.patch("/api/staff/admin", json={"role": "clerk"})
    err(answer, 409, "last_admin")
    assert "唯一" in answer.json["error"]["message"]
    assert admin.patch("/api/staff/clerk2", json={"role": "admin"}).status_code == 200
    assert admin.patch("/api/staff/admin", json={"role": "clerk"}).status_code == 200
    err(hall.staff("clerk2").patch("/api/staff/clerk2", json={"role": "guide"}), 409, "last_admin")


def test_a_disabled_admin_does_not_count(hall: HallApp, admin: FlaskClient) -> None:
    assert admin.patch("/api/staff/clerk2", json={"role": "admin"}).status_code == 200
    assert admin.post("/api/staff/clerk2/disable").status_code == 200
    err(admin.patch("/api/staff/admin", json={"role": "guide"}), 409, "last_admin")


def test_disable_logs_out_refuses_login_and_keeps_the_record(hall: HallApp, admin: FlaskClient) -> None:
    clerk = hall.staff("clerk1")
    answer = admin.post("/api/staff/clerk1/disable")
    assert answer.status_code == 200, answer.json
    assert answer.json["staff"]["disabled"] is True and answer.json["staff"]["disabled_at"]
    err(clerk.get("/api/auth/me"), 401, "unauthorized")
    refused = hall.app.test_client().post("/api/auth/login", json={"username": "clerk1",
                                                                    "password": password("clerk1")})
    err(refused, 403, "account_disabled")
    assert any(s["username"] == "clerk1" and s["disabled"] for s in admin.get("/api/staff").json["staff"])
    assert admin.post("/api/staff/clerk1/enable").json["staff"]["disabled"] is False
    login(hall, "clerk1", password("clerk1"))


def test_an_admin_cannot_disable_themselves(admin: FlaskClient) -> None:
    answer = admin.post("/api/staff/admin/disable")
    err(answer, 409, "disable_self")
    assert "不能停用自己" in answer.json["error"]["message"]
    err(admin.post("/api/staff/ghost/disable"), 404, "staff_not_found")
    err(admin.post("/api/staff/ghost/enable"), 404, "staff_not_found")


def test_reset_password(hall: HallApp, admin: FlaskClient) -> None:
    clerk = hall.staff("clerk1")
    err(admin.post("/api/staff/clerk1/password", json={"password": "short"}), 422, "weak_password")
    err(admin.post("/api/staff/clerk1/password", json={}), 422, "missing_field")
    err(admin.post("/api/staff/ghost/password", json={"password": "long-enough-1"}), 404, "staff_not_found")
    assert admin.post("/api/staff/clerk1/password", json={"password": "new-secret-2026"}).status_code == 200
    err(clerk.get("/api/auth/me"), 401, "unauthorized")  # the open session ended
    err(hall.app.test_client().post("/api/auth/login", json={"username": "clerk1", "password": password("clerk1")}),
        401, "bad_credentials")
    login(hall, "clerk1", "new-secret-2026")


def test_devices_list_kind_last_seen_and_bound_window(hall: HallApp, admin: FlaskClient) -> None:
    added = admin.post("/api/devices", json={"name": "rate-1", "kind": "evaluator"})
    assert added.status_code == 201, added.json
    hall.clock.advance(minutes=5)
    assert hall.display().get("/api/hall/status").status_code == 200
    devices = {d["name"]: d for d in admin.get("/api/devices").json["devices"]}
    assert devices["rate-1"] == {"name": "rate-1", "kind": "evaluator", "last_seen_at": None, "revoked": False,
                                 "revoked_at": None, "window": 1}
    assert devices["display-1"]["last_seen_at"] == hall.clock.now().isoformat()
    assert devices["kiosk-1"]["window"] is None and devices["kiosk-1"]["kind"] == "kiosk"


def test_a_new_device_token_is_shown_once_with_its_address_and_qr(hall: HallApp, admin: FlaskClient) -> None:
    answer = admin.post("/api/devices", json={"name": "rate-1", "kind": "evaluator"})
    token = answer.json["token"]
    assert answer.json["address"] == f"http://localhost/rate/1#token={token}"
    assert answer.json["qr"].startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(answer.json["qr"].split(",", 1)[1])
    assert token not in str(admin.get("/api/devices").json)
    kiosk = admin.post("/api/devices", json={"name": "kiosk-2", "kind": "kiosk"}).json
    assert kiosk["address"] == f"http://localhost/kiosk#token={kiosk['token']}"
    assert hall.device(kiosk["token"]).get("/api/services").status_code == 200
    unbound = admin.post("/api/devices", json={"name": "rate-7", "kind": "evaluator"}).json
    assert (unbound["address"], unbound["qr"]) == (None, None) and unbound["token"]


def test_the_address_uses_the_public_url(tmp_path: Path, database_url: str, clock: ManualClock) -> None:
    config = RATING_HALL.replace('[hall]\n', '[hall]\npublic_url = "https://hall.example.cn/q"\n', 1)
    assert config != RATING_HALL
    for hall in open_hall_app(tmp_path, database_url, clock, config):
        answer = hall.staff("admin").post("/api/devices", json={"name": "display-2", "kind": "display"})
        assert answer.json["address"] == f"https://hall.example.cn/q/display#token={answer.json['token']}"


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"name": "kiosk-1", "kind": "kiosk"}, 409, "device_taken"),
    ({"name": "x", "kind": "toaster"}, 422, "bad_kind"),
    ({"name": "", "kind": "kiosk"}, 422, "bad_name"),
    ({"kind": "kiosk"}, 422, "missing_field"),
])
def test_adding_a_device_checks_the_fields(hall: HallApp, admin: FlaskClient, fields: dict, status: int,
                                           code: str) -> None:
    err(admin.post("/api/devices", json=fields), status, code)
    assert hall.kiosk().get("/api/services").status_code == 200  # a refused add leaves kiosk-1's token working


def test_replace_and_revoke(hall: HallApp, admin: FlaskClient) -> None:
    replaced = admin.post("/api/devices/kiosk-1/replace")
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["device"] == {"name": "kiosk-1", "kind": "kiosk"}
    err(hall.kiosk().get("/api/services"), 401, "bad_token")  # the old token
    new = hall.device(replaced.json["token"])
    assert new.get("/api/services").status_code == 200
    revoked = admin.post("/api/devices/kiosk-1/revoke")
    assert revoked.json["device"]["revoked"] is True and revoked.json["device"]["revoked_at"]
    err(new.get("/api/services"), 401, "bad_token")
    assert {d["name"]: d["revoked"] for d in admin.get("/api/devices").json["devices"]}["kiosk-1"] is True
    again = admin.post("/api/devices/kiosk-1/replace").json  # 重新启用: a new token works again
    assert hall.device(again["token"]).get("/api/services").status_code == 200
    err(admin.post("/api/devices/ghost/replace"), 404, "device_not_found")
    err(admin.post("/api/devices/ghost/revoke"), 404, "device_not_found")


def test_the_screens_are_served(hall: HallApp) -> None:
    client = hall.app.test_client()
    for path, text in (("/admin/staff", "添加工作人员"), ("/admin/devices", "我已记下"), ("/account", "修改密码")):
        page = client.get(path)
        assert page.status_code == 200 and text in page.get_data(as_text=True)


def test_the_admin_marks_a_party_member_whom_the_window_screens_then_name_so(hall: HallApp,
                                                                            admin: FlaskClient) -> None:
    """党员 (场所设施标准 2.1.5, 党员“亮身份”): set when adding or correcting; the windows' answer carries it with the
    clerk signed in, for the window screen's badge."""
    answer = admin.post("/api/staff", json={"username": "clerk3", "name": "赵敏", "role": "clerk",
                                            "password": "zhao-min-2026", "party_member": True})
    assert answer.status_code == 201 and answer.json["staff"]["party_member"] is True
    assert admin.patch("/api/staff/clerk1", json={"party_member": True}).json["staff"]["party_member"] is True
    assert admin.patch("/api/staff/clerk1", json={"name": "王小红"}).json["staff"]["party_member"] is True  # kept
    err(admin.patch("/api/staff/clerk1", json={"party_member": "是"}), 422, "bad_field")
    clerk = hall.staff("clerk1")
    assert clerk.post("/api/windows/1/sign-in").status_code == 200
    window = next(w for w in clerk.get("/api/windows").json["windows"] if w["id"] == 1)
    assert window["clerk"]["party_member"] is True and window["party_post"] is False
    assert admin.patch("/api/staff/clerk1", json={"party_member": False}).json["staff"]["party_member"] is False
