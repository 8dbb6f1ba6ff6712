"""District admins: a Chinese login page, a session cookie, a lock after wrong passwords, CSRF refused as the hall
refuses it, and every read API 401 without a login."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import inspect

from district import migrations
from district.auth import LOCK_AFTER, LOCK_FOR
from district.models import Base
from server.clock import ManualClock
from server.queue import DomainError
from tests.district.conftest import ADMIN, ADMIN_PASSWORD, admin_client, store


def login(app: Flask, password: str, **headers: str) -> tuple[int, dict]:
    answer = app.test_client().post("/district/api/v1/login", json={"username": ADMIN, "password": password},
                                    headers=headers)
    return answer.status_code, answer.json


def test_the_read_api_needs_a_district_login(district_app: Flask) -> None:
    anonymous = district_app.test_client()
    answer = anonymous.get("/district/api/v1/me")
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"
    assert "登录" in answer.json["error"]["message"]
    page = anonymous.get("/district/login")
    assert page.status_code == 200 and "区级管理员登录" in page.text and "测试区政务服务中心" in page.text
    assert "<script>" not in page.text  # the CSP allows scripts from files only
    assert anonymous.get("/district/static/login.js").status_code == 200

    admin = admin_client(district_app)
    assert admin.get("/district/api/v1/me").json == {"user": {"username": ADMIN, "name": "区管理员"}}
    assert admin.post("/district/api/v1/logout").json == {"ok": True}
    assert admin.get("/district/api/v1/me").status_code == 401


def test_logout_and_a_new_password_end_every_session(district_app: Flask) -> None:
    first, second = admin_client(district_app), district_app.test_client()
    second.environ_base["CONTENT_TYPE"] = "application/json"
    assert second.post("/district/api/v1/login", json={"username": ADMIN, "password": ADMIN_PASSWORD}).status_code \
        == 200
    assert first.post("/district/api/v1/logout").status_code == 200
    assert second.get("/district/api/v1/me").status_code == 401  # the other browser's session ended too
    third = admin_client(district_app)  # sets the password again
    assert third.get("/district/api/v1/me").status_code == 200
    district_app.extensions["district_accounts"].add_user(ADMIN, "another-district-pw-2026")
    assert third.get("/district/api/v1/me").status_code == 401


def test_wrong_passwords_lock_the_account(district_app: Flask, clock: ManualClock) -> None:
    district_app.extensions["district_accounts"].add_user(ADMIN, ADMIN_PASSWORD, "区管理员")
    for _ in range(LOCK_AFTER):
        status, answer = login(district_app, "wrong-password-1")
        assert (status, answer["error"]["code"]) == (401, "bad_credentials")
        assert answer["error"]["message"] == "用户名或密码错误"
    status, answer = login(district_app, ADMIN_PASSWORD)  # the right one too, while locked
    assert (status, answer["error"]["code"]) == (429, "account_locked") and "锁定" in answer["error"]["message"]
    clock.advance(seconds=LOCK_FOR.total_seconds() + 1)
    assert login(district_app, ADMIN_PASSWORD)[0] == 200


def test_unknown_names_and_weak_passwords(district_app: Flask) -> None:
    accounts = district_app.extensions["district_accounts"]
    assert login(district_app, ADMIN_PASSWORD)[1]["error"]["code"] == "bad_credentials"  # no such admin yet
    for weak in ("short", "12345678", ADMIN):  # refused as the hall's staff's are
        with pytest.raises(DomainError) as refused:
            accounts.add_user(ADMIN, weak)
        assert refused.value.code == "weak_password"


def test_csrf_is_refused_as_the_hall_refuses_it(district_app: Flask) -> None:
    district_app.extensions["district_accounts"].add_user(ADMIN, ADMIN_PASSWORD)
    form = district_app.test_client().post("/district/api/v1/login",
                                           data={"username": ADMIN, "password": ADMIN_PASSWORD})
    assert (form.status_code, form.json["error"]["code"]) == (415, "json_required")
    status, answer = login(district_app, ADMIN_PASSWORD, Origin="http://evil.example")
    assert (status, answer["error"]["code"]) == (403, "cross_origin")
    assert login(district_app, ADMIN_PASSWORD, Origin="http://localhost")[0] == 200


def test_a_screen_sends_the_browser_to_the_login(district_app: Flask) -> None:
    """The district_admin guard on a page: a redirect to /district/login?next=… (the read API: 401, above)."""
    from district.auth import district_admin

    @district_admin
    def page() -> str:
        return "the page"

    district_app.add_url_rule("/district/example", "example", page)
    answer = district_app.test_client().get("/district/example?day=2026-11-30")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/district/login?next=/district/example?day%3D2026-11-30"
    assert admin_client(district_app).get("/district/example").text == "the page"


def test_the_revisions_make_the_models_tables(district_app: Flask) -> None:
    """The district's Alembic chain and its models agree, and migrating again changes nothing."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = store(district_app).engine
    with engine.begin() as connection:
        context = MigrationContext.configure(connection, opts={"include_schemas": True,
                                                               "version_table_schema": "district"})
        differences = [d for d in compare_metadata(context, Base.metadata)
                       if not (d[0] == "remove_table" and d[1].schema != "district")]
        assert differences == []
        migrations.upgrade(connection)
    assert set(inspect(engine).get_table_names(schema="district")) == {
        "alembic_version", "halls", "hall_tokens", "district_users", "secrets", "day_figures"}
