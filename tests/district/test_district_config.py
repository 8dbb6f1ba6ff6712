"""district.toml: validated at start-up, each error naming its key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from district.config import DATABASE_VARIABLE, load_district, parse_district
from server.config import ConfigError
from tests.district.conftest import district_text

PG = "postgresql+psycopg://hallq@127.0.0.1:5432/district"


def error_of(text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_district(text, environ=environ or {})
    return str(caught.value)


def test_the_example_and_a_district_read() -> None:
    example = load_district(Path(__file__).parents[2] / "district.example.toml")
    assert [hall.code for hall in example.halls] == ["dongcheng", "xishan"]
    config = parse_district(district_text(PG), environ={})
    assert config.name == "测试区政务服务中心" and config.timezone.key == "Asia/Shanghai"
    assert config.database_url == PG and config.hall("xishan").name == "西山镇便民服务中心"


def test_only_postgresql_and_the_environment_wins() -> None:
    assert "district.toml:4: district.database_url: sqlite: the district server needs PostgreSQL" in error_of(
        district_text("sqlite:///district.db"))
    other = "postgresql+psycopg://postgres@10.0.0.2/district"
    assert parse_district(district_text(PG), environ={DATABASE_VARIABLE: other}).database_url == other
    assert "district.database_url: sqlite" in error_of(district_text(PG), {DATABASE_VARIABLE: "sqlite://"})


@pytest.mark.parametrize(("change", "expected"), [
    (('code = "xishan"', 'code = "dongcheng"'), "halls[1].code: duplicate hall code 'dongcheng'"),
    (('code = "xishan"', 'code = "Xishan"'), "halls[1].code: 'Xishan': lower-case letters, digits, - and _"),
    (('"xishan-token-0123456789abcdef012"', '"short-token"'), "halls[1].token: at least 24 characters"),
    (('"xishan-token-0123456789abcdef012"', '"dongcheng-token-0123456789abcdef"'),
     "halls[1].token: two halls share this token"),
    (("[district]\n", '[district]\nzone = "Asia/Shanghai"\n'),
     "district.toml:3: district.zone: unknown key; one of name, database_url, timezone"),
    (('name = "测试区政务服务中心"\n', 'name = "测试区政务服务中心"\ntimezone = "Mars/Base"\n'),
     "district.timezone: unknown time zone 'Mars/Base'"),
    (('name = "西山镇便民服务中心"', 'name = "西山镇便民服务中心"\nurl = "x"'),
     "halls[1].url: unknown key; one of code, name"),
])
def test_each_error_names_its_key(change: tuple[str, str], expected: str) -> None:
    text = district_text(PG)
    assert change[0] in text
    assert expected in error_of(text.replace(*change))
