"""A district server over a scratch PostgreSQL database, with two halls, and its admin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from district.app import create_app
from district.config import DistrictConfig, parse_district
from district.store import DistrictStore
from server.clock import ManualClock
from tests.conftest import scratch_postgres

TOKENS = {"dongcheng": "dongcheng-token-0123456789abcdef", "xishan": "xishan-token-0123456789abcdef012"}
DISTRICT = """
[district]
name = "测试区政务服务中心"
database_url = "{url}"

[[halls]]
code = "dongcheng"
name = "东城街道便民服务中心"
token = "{dongcheng}"

[[halls]]
code = "xishan"
name = "西山镇便民服务中心"
token = "{xishan}"
"""
ADMIN, ADMIN_PASSWORD = "quzhang", "district-admin-pw-2026"


def district_text(url: str, **tokens: str) -> str:
    return DISTRICT.format(url=url, **{**TOKENS, **tokens})


@pytest.fixture
def district_url() -> Iterator[str]:
    with scratch_postgres() as url:
        yield url


@pytest.fixture
def district_config(district_url: str) -> DistrictConfig:
    return parse_district(district_text(district_url), environ={})


@pytest.fixture
def district_app(district_config: DistrictConfig, clock: ManualClock) -> Iterator[Flask]:
    app = create_app(district_config, clock, async_mode="threading")
    yield app
    store(app).dispose()


def store(app: Flask) -> DistrictStore:
    return app.extensions["district"]


def admin_client(app: Flask) -> FlaskClient:
    """A browser logged in as the district admin (made here), sending JSON as hallq.api() does."""
    app.extensions["district_accounts"].add_user(ADMIN, ADMIN_PASSWORD, "区管理员")
    client = app.test_client()
    client.environ_base["CONTENT_TYPE"] = "application/json"
    answer = client.post("/district/api/v1/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    assert answer.status_code == 200, answer.json
    return client
