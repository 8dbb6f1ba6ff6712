"""`hallq district init|user add|revoke|halls` on a scratch PostgreSQL database, as an operator runs them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from district.auth import DistrictAccounts
from district.config import DATABASE_VARIABLE, load_district
from district.store import DistrictStore
from server.cli import main
from server.clock import SystemClock
from tests.district.conftest import TOKENS, district_text


@pytest.fixture
def config(tmp_path: Path, district_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv(DATABASE_VARIABLE, raising=False)
    path = tmp_path / "district.toml"
    path.write_text(district_text(district_url), encoding="utf-8")
    yield path


def test_init_revoke_and_a_new_token(config: Path, district_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["district", "init", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "district: 测试区政务服务中心" in out and "dongcheng" in out and "(new)" in out
    assert "postgres@127.0.0.1" in out
    engine = create_engine(district_url)
    assert {"hall_dongcheng", "hall_xishan", "district"} <= set(inspect(engine).get_schema_names())
    assert "tickets" in inspect(engine).get_table_names(schema="hall_xishan")  # the hall's own tables
    engine.dispose()
    assert main(["district", "init", "--config", str(config)]) == 0  # again: nothing new, nothing lost
    assert "(new)" not in capsys.readouterr().out

    assert main(["district", "revoke", "xishan", "--config", str(config)]) == 0
    assert "hall xishan: 1 token(s) revoked" in capsys.readouterr().out
    store = DistrictStore(load_district(config), SystemClock())
    assert store.hall_of(TOKENS["xishan"]) is None and store.hall_of(TOKENS["dongcheng"]) == "dongcheng"
    assert main(["district", "halls", "--config", str(config)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listed] == [["dongcheng", "active"], ["xishan", "revoked"]]
    assert "never" in listed[0] and "西山镇便民服务中心" in listed[1]

    # the revoked token still in district.toml: init refuses it, naming the key
    assert main(["district", "init", "--config", str(config)]) == 2
    assert "halls[1].token: 已吊销，请换新令牌" in capsys.readouterr().err
    config.write_text(district_text(district_url, xishan="xishan-new-token-0123456789abcdef"), encoding="utf-8")
    assert main(["district", "init", "--config", str(config)]) == 0
    assert store.hall_of("xishan-new-token-0123456789abcdef") == "xishan"
    assert store.hall_of(TOKENS["xishan"]) is None
    assert main(["district", "revoke", "nowhere", "--config", str(config)]) == 2
    store.dispose()


def test_user_add_reads_the_password_from_stdin(config: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("district-pw-from-stdin\n"))
    assert main(["district", "user", "add", "quzhang", "--display-name", "区管理员", "--password-stdin",
                 "--config", str(config)]) == 0
    assert "district admin quzhang saved" in capsys.readouterr().out
    store = DistrictStore(load_district(config), SystemClock())
    assert DistrictAccounts(store).login("quzhang", "district-pw-from-stdin", "127.0.0.1").display_name == "区管理员"
    store.dispose()
    assert main(["district", "user", "add", "quzhang", "--password", "123456789", "--config", str(config)]) == 2


def test_a_config_error_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "district.toml"
    config.write_text(district_text("sqlite:///district.db"), encoding="utf-8")
    assert main(["district", "halls", "--config", str(config)]) == 2
    assert "district.database_url: sqlite: the district server needs PostgreSQL" in capsys.readouterr().err
