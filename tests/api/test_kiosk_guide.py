"""The kiosk's 办事指南 (issue 17 point 1): every item's guide, with the pinyin initials its letter keys search."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from server import kiosk_guide
from server.clock import ManualClock
from server.kiosk_guide import initials, initials_of
from tests.api.conftest import open_hall_app
from tests.conftest import SMALL_HALL
from tests.live import ROOT

ID_CARD_GUIDE = "\n".join([
    'materials = "户口簿"', 'steps = "取号 → 采集 → 缴费"', "promised_working_days = 20", 'fees = "20元"',
    'fee_basis = "发改价格〔2003〕2322号"', 'basis = "《中华人民共和国居民身份证法》"', 'phone = "0371-110"'])
GUIDED_HALL = SMALL_HALL.replace(
    "[hall]", '[hall]\nphone = "0371-1234567"\ncomplaint_phone = "0371-12345"', 1).replace(
    'prefix = "A"', 'prefix = "A"\n' + ID_CARD_GUIDE, 1)


def test_the_kiosk_reads_every_items_guide_and_nobody_else_without_a_role(tmp_path: Path, database_url: str,
                                                                           clock: ManualClock) -> None:
    for hall_app in open_hall_app(tmp_path, database_url, clock, GUIDED_HALL):
        answer = hall_app.kiosk().get("/api/kiosk/guide")
        assert answer.status_code == 200, answer.json
        guides = {g["code"]: g for g in answer.json["services"]}
        assert list(guides) == ["id-card", "hukou", "pension"]
        assert guides["id-card"] == {
            "code": "id-card", "name": "居民身份证核发", "category": "户籍管理", "initials": ["JMSFZHF"],
            "materials": "户口簿", "steps": "取号 → 采集 → 缴费", "time_limit": "20个工作日",
            "fees": "20元",
            "fee_basis": "发改价格〔2003〕2322号", "basis": "《中华人民共和国居民身份证法》",
            "windows": "1号窗口（一楼）；3号窗口、4号窗口（二楼）", "phone": "0371-110",
            "complaint_phone": "0371-12345"}
        # an item without its own phone gives the hall's
        assert guides["pension"]["phone"] == "0371-1234567" and guides["pension"]["initials"] == ["YLBXCBDJ"]
        assert hall_app.app.test_client().get("/api/kiosk/guide").status_code == 401
        assert hall_app.display().get("/api/kiosk/guide").status_code == 403
        assert hall_app.staff("admin").get("/api/kiosk/guide").status_code == 403


def test_initials_follow_the_words_and_offer_a_polyphones_everyday_reading() -> None:
    """给付 reads jǐfù (JF), but a resident may type 给 as gěi (GF): both find it; brackets are skipped."""
    assert initials("居民身份证核发") == ("JMSFZHF",)
    assert initials("义务兵家庭优待金给付") == ("YWBJTYDJJF", "YWBJTYDJGF")
    assert initials("就（失）业登记") == ("JSYDJ",)
    assert initials("城乡居民养老保险参保缴费") == ("CXJMYLBXCBJF",)  # 参 cān, 缴 jiǎo


def test_the_server_process_never_loads_the_pinyin_dictionaries() -> None:
    """~55 MB of dictionaries for a few names: a child process works them out (a fresh interpreter here, as the
    test process may have loaded them already)."""
    script = ("import json, sys; from server.kiosk_guide import initials_of; "
              "print(json.dumps([initials_of(('义务兵家庭优待金给付', '就（失）业登记')), 'pypinyin' in sys.modules]))")
    answer = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    found, loaded_here = json.loads(answer.stdout)
    assert found == {"义务兵家庭优待金给付": ["YWBJTYDJJF", "YWBJTYDJGF"], "就（失）业登记": ["JSYDJ"]}
    assert loaded_here is False


def test_without_a_child_process_the_initials_are_worked_out_in_the_server(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    monkeypatch.setattr(kiosk_guide.sys, "executable", str(tmp_path / "no-python"))
    initials_of.cache_clear()
    try:
        assert initials_of(("居民身份证核发", "养老保险参保登记")) == {"居民身份证核发": ("JMSFZHF",),
                                                                 "养老保险参保登记": ("YLBXCBDJ",)}
    finally:
        initials_of.cache_clear()
