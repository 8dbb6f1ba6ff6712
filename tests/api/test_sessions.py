"""Sessions that end when they should (issue 13): logout, a password change or reset and disabling an account end
every earlier session of it, HTTP and Socket.IO alike; a revoked device token stops working and its sockets close."""

from __future__ import annotations

from flask.testing import FlaskClient
from flask_socketio import SocketIOTestClient
from sqlalchemy import select

from server.models import Device
from tests.api.conftest import HallApp, password
from tests.api.test_realtime import socketio_of


def replayed(hall_app: HallApp, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie (as it is now)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy = hall_app.app.test_client()
    copy.environ_base.update(client.environ_base)
    copy.set_cookie("session", cookie.value)
    return copy


def signed_in(client: FlaskClient) -> bool:
    answer = client.get("/api/auth/me")
    assert answer.status_code in (200, 401), answer.json
    if answer.status_code == 401:
        assert answer.json["error"]["code"] == "unauthorized"
    return answer.status_code == 200


def socket_of(hall_app: HallApp, client: FlaskClient) -> SocketIOTestClient:
    socket = socketio_of(hall_app).test_client(hall_app.app, flask_test_client=client)
    assert socket.is_connected()
    return socket


def login(hall_app: HallApp, name: str, secret: str) -> int:
    return hall_app.app.test_client().post("/api/auth/login", json={"username": name, "password": secret}).status_code


def test_logout_ends_every_session_of_the_account_and_closes_its_sockets(hall_app: HallApp) -> None:
    desk, other_browser, colleague = hall_app.staff("clerk1"), hall_app.staff("clerk1"), hall_app.staff("clerk2")
    old_cookie = replayed(hall_app, desk)
    sockets = socket_of(hall_app, desk), socket_of(hall_app, other_browser)
    colleague_socket = socket_of(hall_app, colleague)
    assert desk.post("/api/auth/logout").json == {"ok": True}
    assert not signed_in(desk) and not signed_in(old_cookie) and not signed_in(other_browser)
    assert not any(socket.is_connected() for socket in sockets)
    assert not socketio_of(hall_app).test_client(hall_app.app, flask_test_client=old_cookie).is_connected()
    assert signed_in(colleague) and colleague_socket.is_connected()  # another account is untouched
    fresh = hall_app.staff("clerk1")
    assert signed_in(fresh)
    assert old_cookie.post("/api/auth/logout").status_code == 200 and signed_in(fresh)  # an ended cookie ends nothing
    colleague_socket.disconnect()


def test_a_password_change_needs_the_old_one_and_ends_the_other_sessions(hall_app: HallApp) -> None:
    desk, other_browser = hall_app.staff("clerk1"), hall_app.staff("clerk1")
    old_cookie, socket = replayed(hall_app, desk), socket_of(hall_app, other_browser)
    new = "a-new-clerk1-pw"
    wrong = desk.post("/api/auth/password", json={"old": "not-my-password", "new": new})
    assert (wrong.status_code, wrong.json["error"]["code"], wrong.json["error"]["message"]) == (
        422, "wrong_password", "原密码不正确")
    weak = desk.post("/api/auth/password", json={"old": password("clerk1"), "new": "short"})
    assert (weak.status_code, weak.json["error"]["code"]) == (422, "weak_password")
    assert "8" in weak.json["error"]["message"]
    assert desk.post("/api/auth/password", json={"old": password("clerk1")}).status_code == 422
    assert signed_in(other_browser) and socket.is_connected()  # refused changes end nothing
    assert desk.post("/api/auth/password", json={"old": password("clerk1"), "new": new}).json == {"ok": True}
    assert signed_in(desk)  # the browser that changed it is signed again
    assert not signed_in(old_cookie) and not signed_in(other_browser) and not socket.is_connected()
    assert login(hall_app, "clerk1", password("clerk1")) == 401 and login(hall_app, "clerk1", new) == 200
    assert hall_app.device(hall_app.kiosk_token).post("/api/auth/password", json={}).status_code == 403


def test_an_admin_reset_ends_the_sessions(hall_app: HallApp) -> None:
    desk = hall_app.staff("clerk1")
    socket = socket_of(hall_app, desk)
    hall_app.hall.accounts.reset_password("clerk1", "reset-by-admin", actor="admin")
    assert not signed_in(desk) and not socket.is_connected()
    assert login(hall_app, "clerk1", "reset-by-admin") == 200
    desk = hall_app.staff("clerk2")
    hall_app.hall.accounts.add_user("clerk2", "clerk", "reset-by-cli-pw")  # `hallq user add` on an existing name
    assert not signed_in(desk) and login(hall_app, "clerk2", "reset-by-cli-pw") == 200


def test_a_disabled_account_cannot_log_in_until_enabled_again(hall_app: HallApp) -> None:
    desk = hall_app.staff("clerk1")
    socket = socket_of(hall_app, desk)
    accounts = hall_app.hall.accounts
    accounts.set_disabled("clerk1", True, actor="admin")
    assert not signed_in(desk) and not socket.is_connected()
    refused = hall_app.app.test_client().post("/api/auth/login",
                                               json={"username": "clerk1", "password": password("clerk1")})
    assert (refused.status_code, refused.json["error"]) == (
        403, {"code": "account_disabled", "message": "账号已停用，请联系管理员"})
    assert login(hall_app, "clerk1", "a-wrong-password") == 401  # only the password's owner learns it is disabled
    assert accounts.staff("clerk1") is None and "clerk1" not in [p.name for p in accounts.members()]
    accounts.set_disabled("clerk1", False)
    assert login(hall_app, "clerk1", password("clerk1")) == 200 and accounts.staff("clerk1") is not None


def test_a_revoked_device_token_stops_working_and_its_sockets_close(hall_app: HallApp) -> None:
    sio = socketio_of(hall_app)
    display = sio.test_client(hall_app.app, auth={"token": hall_app.display_token})
    kiosk = sio.test_client(hall_app.app, auth={"token": hall_app.kiosk_token})
    assert display.is_connected() and hall_app.display().get("/api/services").status_code == 200
    hall_app.hall.accounts.revoke_device("display-1", actor="admin")
    assert not display.is_connected() and kiosk.is_connected()
    refused = hall_app.display().get("/api/services")
    assert (refused.status_code, refused.json["error"]["code"]) == (401, "bad_token")
    assert not sio.test_client(hall_app.app, auth={"token": hall_app.display_token}).is_connected()
    token = hall_app.hall.accounts.add_device("display-1", "display")  # registered again: a new token
    assert hall_app.device(token).get("/api/services").status_code == 200
    assert hall_app.display().get("/api/services").status_code == 401
    kiosk.disconnect()


def last_seen(hall_app: HallApp, name: str) -> object:
    with hall_app.hall.storage.read() as session:
        return session.scalar(select(Device.last_seen_at).where(Device.name == name))


def test_a_device_is_seen_on_connect_and_at_most_once_a_minute_over_http(hall_app: HallApp) -> None:
    clock = hall_app.clock
    assert last_seen(hall_app, "display-1") is None
    display = socketio_of(hall_app).test_client(hall_app.app, auth={"token": hall_app.display_token})
    connected_at = clock.now()
    assert last_seen(hall_app, "display-1") == connected_at
    clock.advance(seconds=30)
    assert hall_app.display().get("/api/services").status_code == 200
    assert last_seen(hall_app, "display-1") == connected_at  # within the minute: no write
    requested_at = clock.advance(seconds=31)
    assert hall_app.display().get("/api/services").status_code == 200
    assert last_seen(hall_app, "display-1") == requested_at
    display.disconnect()
