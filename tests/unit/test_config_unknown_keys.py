"""config.toml refuses a key it does not know in every table, naming the file, the line and the key: a typo such
as ``daily_cpa = 5`` must not load a hall without its cap (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.config import ConfigError, parse_config
from tests.conftest import SMALL_HALL

ROOT = Path(__file__).resolve().parents[2]

#: every optional table config.toml can have, one entry of each array of tables
EVERY_TABLE = SMALL_HALL.replace('name = "1号窗口"', 'name = "1号窗口"\nparty_post = true') + """
[printing]
footer = "请留意叫号"

[[printers]]
name = "p1"
connection = "dummy"

[[displays]]
name = "tv-1"
zones = ["一楼"]

[voice]
rate = 150

[calendar]
cutoff_minutes = 0

[[calendar.sessions]]
name = "上午"
start = "08:30"
end = "12:00"

[appointments]
days_ahead = 7

[[appointments.slots]]
start = "09:00"
end = "10:00"
capacity = 2

[evaluation]
prompt_seconds = 60

[[evaluation.evaluators]]
device = "rate-1"
window = 1

[cases]
promised_working_days = 5

[complaints]
answer_working_days = 5

[assessment]
base_points = 100

[server]
trusted_proxies = 0

[district]
url = "https://district.example.cn"
token = "a-token-of-the-district"
code = "zhen-1"
"""


def test_the_hall_of_every_table_loads() -> None:
    hall = parse_config(EVERY_TABLE)
    assert hall.printing.printers[0].name == "p1" and hall.zones_of_display("tv-1") == ("一楼",)
    assert hall.appointments.slots[0].capacity == 2 and hall.evaluation.window_of("rate-1") == 1


@pytest.mark.parametrize(("after", "typo", "key"), [
    (None, "hall_name = 1", "hall_name"),
    ("[hall]", "nmae = 1", "hall.nmae"),
    ("[queue]", "priority_bond = 1", "queue.priority_bond"),
    ("daily_cap = 5", "daily_cpa = 5", "services[2].daily_cpa"),
    ('name = "2号窗口"', "zones = 1", "windows[1].zones"),
    ("[printing]", "feilds = []", "printing.feilds"),
    ('connection = "dummy"', "kiosk = []", "printers[0].kiosk"),
    ('name = "tv-1"', "zone = []", "displays[0].zone"),
    ("[voice]", "speed = 1", "voice.speed"),
    ("[calendar]", "holiday = []", "calendar.holiday"),
    ('name = "上午"', "day = [6]", "calendar.sessions[0].day"),
    ("[appointments]", "days_ahed = 5", "appointments.days_ahed"),
    ("capacity = 2", "seats = 2", "appointments.slots[0].seats"),
    ("[evaluation]", "prompt_second = 45", "evaluation.prompt_second"),
    ('device = "rate-1"', "windows = 1", "evaluation.evaluators[0].windows"),
    ("[cases]", "approval_days = 2", "cases.approval_days"),
    ("[complaints]", "answer_days = 2", "complaints.answer_days"),
    ("[assessment]", "base = 100", "assessment.base"),
    ("[server]", "proxies = 1", "server.proxies"),
    ("[district]", "interval = 5", "district.interval"),
    ("party_post = true", "party_pots = true", "windows[0].party_pots"),
])
def test_an_unknown_key_is_refused_in_every_table(after: str | None, typo: str, key: str) -> None:
    text = typo + "\n" + EVERY_TABLE if after is None else EVERY_TABLE.replace(after, f"{after}\n{typo}", 1)
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    line = text.splitlines().index(typo) + 1
    assert (info.value.key, info.value.line) == (key, line), str(info.value)
    assert str(info.value).startswith(f"config.toml:{line}: {key}: unknown key; one of ")


def test_the_unknown_key_error_lists_the_keys_of_its_table() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(SMALL_HALL.replace("daily_cap = 5", "daily_cpa = 5"))
    assert "one of code, name, category, prefix, daily_cap, materials, session_cap" in str(info.value)


def test_a_misspelt_table_is_refused_at_its_header() -> None:
    text = EVERY_TABLE.replace("[appointments]", "[apointments]").replace("[[appointments.slots]]",
                                                                          "[[apointments.slots]]")
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    line = text.splitlines().index("[apointments]") + 1
    assert (info.value.key, info.value.line) == ("apointments", line)
    assert "unknown key; one of hall, queue, services, windows, printing, printers" in str(info.value)


def test_a_misspelt_array_of_tables_is_named_not_reported_missing() -> None:
    text = SMALL_HALL.replace("[[windows]]", "[[window]]")
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert (info.value.key, info.value.line) == ("window", text.splitlines().index("[[window]]") + 1)


def test_printers_belong_in_their_own_tables_not_in_printing() -> None:
    with pytest.raises(ConfigError, match=r"printing\.printers: unknown key"):
        parse_config(SMALL_HALL + '\n[printing]\nprinters = ["p1"]\n')


def test_of_several_mistakes_the_first_in_the_file_is_named() -> None:
    text = SMALL_HALL.replace("recall_limit = 3", "recall_limit = -1").replace("daily_cap = 5", "daily_cap = 0")
    with pytest.raises(ConfigError, match=r"queue\.recall_limit"):
        parse_config(text)


def test_reading_the_config_starts_neither_the_voice_engine_nor_gevent() -> None:
    probe = ("import sys, server.config; "
             "print(sorted(m for m in ('gevent', 'server.voice.speech', 'escpos') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    assert result.stdout.strip() == "[]"
