"""config.toml validation: every error names the key and the line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import CATEGORIES, ConfigError, load_config, parse_config
from tests.conftest import SMALL_HALL

ROOT = Path(__file__).resolve().parents[2]


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(needle)


def test_demo_hall_has_all_twelve_categories_and_six_windows_one_serving_everything() -> None:
    hall = load_config(ROOT / "config.toml")
    assert {s.category for s in hall.services} == set(CATEGORIES)
    assert len(hall.windows) == 6
    everything = [w for w in hall.windows if set(w.services) == {s.code for s in hall.services}]
    assert len(everything) == 1 and everything[0].label == "综合受理"
    assert hall.service("hukou-id").name == "居民身份证核发"


def test_unknown_service_in_a_window_names_key_and_line() -> None:
    text = SMALL_HALL.replace('services = ["pension"]', 'services = ["pension", "passport"]')
    error = error_of(text)
    assert error.key == "windows[1].services"
    assert error.line == line_of(text, '"passport"')
    assert "passport" in str(error) and f":{error.line}:" in str(error)


def test_duplicate_prefix_names_the_second_service() -> None:
    text = SMALL_HALL.replace('prefix = "B"', 'prefix = "A"')
    error = error_of(text)
    assert error.key == "services[1].prefix"
    assert error.line == line_of(text, 'prefix = "A"', occurrence=2)
    assert "duplicate prefix" in str(error)


def test_bad_toml_gives_the_line() -> None:
    text = SMALL_HALL.replace('name = "2号窗口"', 'name = "2号窗口')
    error = error_of(text)
    assert error.key == "(syntax)" and error.line == line_of(text, 'name = "2号窗口')


@pytest.mark.parametrize(("change", "key", "fragment"), [
    (('category = "养老保障"', 'category = "旅游"'), "services[2].category", "12 categories"),
    (('name = "测试便民服务中心"', ''), "hall.name", "required"),
    (('id = 4', 'id = 3'), "windows[3].id", "duplicate window id"),
    (('priority_bound = 2', 'priority_bound = -1'), "queue.priority_bound", "0 or more"),
    (('recall_limit = 3', 'recall_limit = "three"'), "queue.recall_limit", "integer"),
    (('daily_cap = 5', 'daily_cap = 5000'), "services[2].daily_cap", "between"),
    (('[hall]', '[hall]\ntimezone = "Mars/Olympus"'), "hall.timezone", "unknown time zone"),
    (('prefix = "L"', 'prefix = "l1"'), "services[2].prefix", "capital letters"),
    (('daily_cap = 5', 'daily_cap = 5\npromised_working_days = 0'), "services[2].promised_working_days",
     'working days (1 to 365) or "即办"'),
    (('daily_cap = 5', 'daily_cap = 5\npromised_working_days = "即时"'), "services[2].promised_working_days",
     "'即时'"),
    (('[hall]', '[hall]\ncomplaint_phone = "投诉"'), "hall.complaint_phone", "a phone number"),
    (('[hall]', '[hall]\nphone = "咨询"'), "hall.phone", "a phone number"),
    (('daily_cap = 5', 'daily_cap = 5\nphone = "派出所"'), "services[2].phone", "a phone number"),
    (('daily_cap = 5', 'daily_cap = 5\nbasis = 12'), "services[2].basis", "string"),
    (('name = "2号窗口"', 'name = "2号窗口"\nparty_post = "是"'), "windows[1].party_post", "valid boolean"),
])
def test_other_mistakes_name_their_key(change: tuple[str, str], key: str, fragment: str) -> None:
    error = error_of(SMALL_HALL.replace(*change))
    assert error.key == key and fragment in str(error)
    assert error.line is not None


def test_a_service_no_window_serves_is_refused() -> None:
    text = SMALL_HALL.replace('services = ["hukou", "id-card", "pension"]', 'services = ["hukou", "id-card"]')
    text = text.replace('services = ["pension"]', 'services = ["id-card"]')
    assert "no window serves pension" in str(error_of(text))


def test_missing_file_and_start_up_failure_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "hall.toml"
    broken.write_text(SMALL_HALL.replace('services = ["pension"]', 'services = ["passport"]'), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "server.cli", "run", "--config", str(broken), "--instance",
                             str(tmp_path / "instance")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{broken}:{line_of(broken.read_text(), 'passport')}: windows[1].services: unknown service" in result.stderr


# ---------------------------------------------------------------- printing: [hall] public_url, materials,
# [printing] and [[printers]]

ONE_PRINTER = """
[[printers]]
name = "p1"
connection = "network"
host = "192.168.1.50"
kiosks = ["kiosk-1"]
"""

TWO_PRINTERS = """
[printing]
fields = ["hall", "number", "service", "waiting", "qr", "notice"]
footer = "过号请到导询台"
desk_printer = "desk"
status_interval = 30
agent_timeout = 20

[[printers]]
name = "kiosk-1-printer"
connection = "network"
host = "192.168.1.50"
port = 9101
timeout = 2.5
mode = "text"
paper_width = 80
profile = "TM-T20II"
kiosks = ["kiosk-1", "kiosk-2"]

[[printers]]
name = "desk"
connection = "usb"
vendor_id = 0x0483
product_id = 0x5743
mode = "image"
paper_width = 58
kiosks = ["kiosk-3"]
via_agent = true
"""


def printer_error(printers: str, change: tuple[str, str] | None = None, hall: str = SMALL_HALL) -> tuple[
        ConfigError, str]:
    text = hall + (printers.replace(*change) if change else printers)
    return error_of(text), text


def test_a_valid_printing_config_parses_to_its_dataclasses() -> None:
    text = SMALL_HALL.replace('[hall]', '[hall]\npublic_url = "http://192.168.1.10:5000/"')
    text = text.replace('prefix = "A"\n', 'prefix = "A"\nmaterials = "户口簿、原身份证"\n', 1)
    hall = parse_config(text + TWO_PRINTERS)
    assert hall.public_url == "http://192.168.1.10:5000"  # the trailing / is dropped
    assert hall.service("id-card").materials == "户口簿、原身份证" and hall.service("hukou").materials == ""
    printing = hall.printing
    assert printing.layout.fields == ("hall", "number", "service", "waiting", "qr", "notice")
    assert printing.layout.footer == "过号请到导询台"
    assert printing.status_interval == 30.0 and printing.agent_timeout == 20.0
    network, usb = printing.printers
    assert network.name == "kiosk-1-printer" and network.connection.kind == "network"
    assert (network.connection.host, network.connection.port, network.connection.timeout) == ("192.168.1.50", 9101,
                                                                                              2.5)
    assert (network.mode, network.paper_width, network.profile, network.dots) == ("text", 80, "TM-T20II", 576)
    assert network.kiosks == ("kiosk-1", "kiosk-2") and not network.via_agent
    assert (usb.connection.kind, usb.connection.vendor_id, usb.connection.product_id) == ("usb", 0x0483, 0x5743)
    assert (usb.mode, usb.paper_width, usb.dots, usb.via_agent) == ("image", 58, 384, True)
    assert usb.connection.timeout == 3.0 and usb.profile == "default"  # defaults
    assert printing.printer_of_kiosk("kiosk-2") is network and printing.printer_of_kiosk("kiosk-3") is usb
    assert printing.printer_of_kiosk("kiosk-9") is None
    assert printing.desk_printer == "desk" and printing.printer("desk") is usb


def test_without_printers_nothing_is_printed_and_defaults_apply() -> None:
    hall = parse_config(SMALL_HALL)
    assert hall.public_url == "" and hall.printing.printers == () and hall.printing.desk_printer is None
    assert hall.printing.status_interval == 10.0 and hall.printing.agent_timeout == 15.0
    assert hall.printing.layout.fields[:2] == ("hall", "number")
    printer = parse_config(SMALL_HALL + ONE_PRINTER).printing.printers[0]
    assert (printer.connection.port, printer.connection.timeout, printer.mode, printer.paper_width) == (9100, 3.0,
                                                                                                        "text", 80)


@pytest.mark.parametrize(("change", "key", "needle", "fragment"), [
    (('connection = "network"', 'connection = "bluetooth"'), "printers[0].connection", "bluetooth",
     "one of network, usb, serial, file, dummy"),
    (('host = "192.168.1.50"\n', ''), "printers[0].host", "[[printers]]", "required for a network printer"),
    (('host = "192.168.1.50"', 'host = ""'), "printers[0].host", 'host = ""', "must not be empty"),
    (('kiosks', 'port = 0\nkiosks'), "printers[0].port", "port = 0", "between 1 and 65535"),
    (('kiosks', 'port = 70000\nkiosks'), "printers[0].port", "port = 70000", "between 1 and 65535"),
    (('kiosks', 'port = "9100"\nkiosks'), "printers[0].port", "port =", "integer"),
    (('kiosks', 'timeout = "3"\nkiosks'), "printers[0].timeout", "timeout =", "number of seconds"),
    (('kiosks', 'timeout = true\nkiosks'), "printers[0].timeout", "timeout =", "number of seconds"),
    (('kiosks', 'timeout = 0\nkiosks'), "printers[0].timeout", "timeout =", "between 0.1 and 60 seconds"),
    (('kiosks', 'timeout = 61\nkiosks'), "printers[0].timeout", "timeout =", "between 0.1 and 60 seconds"),
    (('kiosks', 'timeout = nan\nkiosks'), "printers[0].timeout", "timeout =", "between 0.1 and 60 seconds"),
    (('kiosks', 'mode = "graphics"\nkiosks'), "printers[0].mode", "mode =", "one of text, image"),
    (('kiosks', 'paper_width = 76\nkiosks'), "printers[0].paper_width", "paper_width", "58 or 80"),
    (('kiosks', 'profile = "NoSuchPrinter"\nkiosks'), "printers[0].profile", "profile =",
     "unknown python-escpos profile 'NoSuchPrinter'"),
    (('kiosks', 'profile = "TM-T88V"\nkiosks'), "printers[0].profile", "profile =", "512 dots"),
    (('kiosks', 'mode = "image"\nfont = "/nonexistent/simsun.ttc"\nkiosks'), "printers[0].font", "font =",
     "/nonexistent/simsun.ttc"),
    (('kiosks = ["kiosk-1"]', 'kiosks = ["kiosk-1", 2]'), "printers[0].kiosks", "kiosks =", "kiosk device names"),
    (('kiosks = ["kiosk-1"]', 'kiosks = "kiosk-1"'), "printers[0].kiosks", "kiosks =", "must be a list"),
    (('kiosks', 'via_agent = "yes"\nkiosks'), "printers[0].via_agent", "via_agent", "true/false"),
    (('name = "p1"\n', ''), "printers[0].name", "[[printers]]", "is required"),
    (('connection = "network"\n', ''), "printers[0].connection", "[[printers]]", "is required"),
])
def test_each_printer_mistake_names_its_key_and_line(change: tuple[str, str], key: str, needle: str,
                                                      fragment: str) -> None:
    error, text = printer_error(ONE_PRINTER, change)
    assert error.key == key, str(error)
    assert fragment in str(error)
    assert error.line == line_of(text, needle) and f"config.toml:{error.line}: {key}: " in str(error)


@pytest.mark.parametrize(("entry", "key", "fragment"), [
    ('connection = "usb"\nproduct_id = 0x5743', "printers[0].vendor_id", "required for a usb printer"),
    ('connection = "usb"\nvendor_id = 0x0483', "printers[0].product_id", "required for a usb printer"),
    ('connection = "usb"\nvendor_id = "0x0483"\nproduct_id = 0x5743', "printers[0].vendor_id", "integer"),
    ('connection = "serial"', "printers[0].device", "required for a serial printer"),
    ('connection = "file"', "printers[0].path", "required for a file printer"),
])
def test_a_connection_needs_its_own_keys(entry: str, key: str, fragment: str) -> None:
    text = SMALL_HALL + f'\n[[printers]]\nname = "p1"\n{entry}\n'
    error = error_of(text)
    assert error.key == key and fragment in str(error)
    assert error.line is not None and error.line >= line_of(text, "[[printers]]")


def test_a_180_dpi_profile_is_refused_for_80_mm_paper_but_fits_58_mm() -> None:
    error, _ = printer_error(ONE_PRINTER, ('kiosks', 'profile = "TM-T88V"\nkiosks'))
    assert "512" in str(error) and "576" in str(error) and "80 mm" in str(error)
    hall = parse_config(SMALL_HALL + ONE_PRINTER.replace('kiosks', 'profile = "TM-T88V"\npaper_width = 58\nkiosks'))
    assert hall.printing.printers[0].dots == 384


def test_a_missing_font_matters_only_in_image_mode() -> None:
    error, text = printer_error(ONE_PRINTER, ('kiosks', 'mode = "image"\nfont = "/nonexistent/simsun.ttc"\nkiosks'))
    assert error.key == "printers[0].font" and error.line == line_of(text, "font =")
    text_mode = ONE_PRINTER.replace('kiosks', 'font = "/nonexistent/simsun.ttc"\nkiosks')
    assert parse_config(SMALL_HALL + text_mode).printing.printers[0].mode == "text"


def test_two_printers_of_one_name_or_one_kiosk_are_refused() -> None:
    second = ONE_PRINTER.replace('"192.168.1.50"', '"192.168.1.51"').replace('"kiosk-1"', '"kiosk-2"')
    error, text = printer_error(ONE_PRINTER + second)
    assert error.key == "printers[1].name" and "duplicate printer name 'p1'" in str(error)
    assert error.line == line_of(text, 'name = "p1"', occurrence=2)
    other = ONE_PRINTER.replace('name = "p1"', 'name = "p2"').replace('"192.168.1.50"', '"192.168.1.51"')
    error, text = printer_error(ONE_PRINTER + other)
    assert error.key == "printers[1].kiosks" and "kiosk 'kiosk-1' already prints on 'p1'" in str(error)
    assert error.line == line_of(text, "kiosks =", occurrence=2)


def test_a_printer_agent_needs_the_kiosk_it_runs_on() -> None:
    error, text = printer_error(ONE_PRINTER, ('kiosks = ["kiosk-1"]', 'via_agent = true'))
    assert error.key == "printers[0].via_agent" and "kiosks" in str(error)
    assert error.line == line_of(text, "via_agent")


def test_desk_printer_must_name_a_printer() -> None:
    error, text = printer_error('\n[printing]\ndesk_printer = "desk"\n' + ONE_PRINTER)
    assert error.key == "printing.desk_printer" and "no printer named 'desk'" in str(error)
    assert error.line == line_of(text, "desk_printer")
    error, _ = printer_error('\n[printing]\ndesk_printer = "desk"\n')  # no printers at all
    assert error.key == "printing.desk_printer"


@pytest.mark.parametrize(("printing", "key", "fragment"), [
    ('fields = ["number", "barcode"]', "printing.fields", "(not 'barcode')"),
    ('fields = ["number", "qr", "number"]', "printing.fields", "each at most once"),
    ('fields = "number"', "printing.fields", "must be a list"),
    ('footer = ""', "printing.footer", "must not be empty"),
    ('status_interval = 0', "printing.status_interval", "between 1 and 3600 seconds"),
    ('status_interval = "10s"', "printing.status_interval", "number of seconds"),
    ('agent_timeout = 301', "printing.agent_timeout", "between 1 and 300 seconds"),
])
def test_printing_section_mistakes_name_their_key(printing: str, key: str, fragment: str) -> None:
    text = SMALL_HALL + f"\n[printing]\n{printing}\n"
    error = error_of(text)
    assert error.key == key and fragment in str(error)
    assert error.line == line_of(text, printing.split(" =")[0])


def test_an_unknown_field_error_lists_the_fields_there_are() -> None:
    message = str(error_of(SMALL_HALL + '\n[printing]\nfields = ["number", "barcode"]\n'))
    assert "hall, number, service, waiting, issued_at, windows, tag, qr, notice, complaint, footer" in message


@pytest.mark.parametrize("url", ["192.168.1.10:5000", "ftp://hall.example", "http://", "https:///t",
                                 "http://192.168.1.10 :5000"])
def test_a_bad_public_url_is_refused(url: str) -> None:
    text = SMALL_HALL.replace('[hall]', f'[hall]\npublic_url = "{url}"')
    error = error_of(text)
    assert error.key == "hall.public_url" and error.line == line_of(text, "public_url")
    assert "http:// or https://" in str(error)


def test_materials_must_be_text() -> None:
    text = SMALL_HALL.replace('prefix = "B"\n', 'prefix = "B"\nmaterials = ["户口簿"]\n')
    error = error_of(text)
    assert error.key == "services[1].materials" and error.line == line_of(text, "materials")
    assert "must be a string" in str(error)


def test_the_demo_hall_prints_on_a_dummy_printer_and_tells_every_service_what_to_bring() -> None:
    hall = load_config(ROOT / "config.toml")
    assert all(s.materials for s in hall.services), [s.code for s in hall.services if not s.materials]
    printer = hall.printing.printer_of_kiosk("kiosk-1")
    assert printer is not None and printer.name == "kiosk-1-printer" and printer.connection.kind == "dummy"


def test_a_typo_in_a_printer_key_is_named_not_ignored() -> None:
    text = (SMALL_HALL + ONE_PRINTER).replace('kiosks = ["kiosk-1"]', 'kiosk = ["kiosk-1"]')
    with pytest.raises(ConfigError, match=r"printers\[0\]\.kiosk: unknown key"):
        parse_config(text)


def test_the_ticket_must_show_its_number() -> None:
    with pytest.raises(ConfigError, match=r"printing\.fields: must include \"number\""):
        parse_config(SMALL_HALL + ONE_PRINTER + '\n[printing]\nfields = ["hall", "service"]\n')


# ---------------------------------------------------------------- [voice] and [[displays]]

def test_voice_settings_parse_and_bad_values_are_named() -> None:
    voice = parse_config(SMALL_HALL + "\n[voice]\nrate = 130\nvolume = 0.8\nrepeat = 1\nyao = true\n").voice
    assert (voice.enabled, voice.voice, voice.rate, voice.volume, voice.repeat, voice.yao, voice.chime) == (
        True, "cmn-latn-pinyin", 130, 0.8, 1, True, True)
    assert (voice.busy_rate, voice.announce_within) == (200, 15)
    busy = parse_config(SMALL_HALL + "\n[voice]\nrate = 250\nannounce_within = 20\n").voice
    assert (busy.busy_rate, busy.announce_within) == (250, 20)  # never slower than the calm rate
    for body, key in (("rate = 1000", "voice.rate"), ("volume = 0", "voice.volume"), ("repeat = 5", "voice.repeat"),
                      ("enabled = \"yes\"", "voice.enabled"), ("speed = 3", "voice.speed"),
                      ("busy_rate = 120", "voice.busy_rate"), ("busy_rate = 500", "voice.busy_rate"),
                      ("announce_within = 2", "voice.announce_within")):
        with pytest.raises(ConfigError, match=re.escape(key)):
            parse_config(SMALL_HALL + f"\n[voice]\n{body}\n")


def test_displays_are_bound_to_known_zones() -> None:
    config = parse_config(SMALL_HALL + '\n[[displays]]\nname = "tv-2f"\nzones = ["二楼"]\n')
    assert config.zones_of_display("tv-2f") == ("二楼",) and config.zones_of_display("other") is None
    with pytest.raises(ConfigError, match=r"displays\[0\]\.zones: zones of the windows: 一楼、二楼 \(not '三楼'\)"):
        parse_config(SMALL_HALL + '\n[[displays]]\nname = "tv"\nzones = ["三楼"]\n')
    twice = '\n[[displays]]\nname = "tv"\nzones = ["一楼"]\n'
    with pytest.raises(ConfigError, match=r"displays\[1\]\.name: display 'tv' is listed twice"):
        parse_config(SMALL_HALL + twice + twice)


# ---------------------------------------------------------------- [calendar] and session_cap

CALENDAR = """
[calendar]
cutoff_minutes = 30
holidays = [2026-10-01, "2026-10-02"]
workdays = ["2026-10-10"]

[[calendar.sessions]]
name = "上午"
start = "08:30"
end = "12:00"

[[calendar.sessions]]
name = "下午"
start = 14:00:00
end = "17:30"
days = [5, 1, 2, 3, 4]

[[calendar.sessions]]
name = "周六上午"
start = "09:00"
end = "12:00"
days = [6]
"""


def test_a_calendar_parses_to_its_sessions_holidays_and_workdays() -> None:
    from datetime import date, time

    from server.calendar import Session

    calendar = parse_config(SMALL_HALL + CALENDAR).calendar
    assert calendar.sessions == (Session("上午", time(8, 30), time(12), (1, 2, 3, 4, 5)),
                                 Session("下午", time(14), time(17, 30), (1, 2, 3, 4, 5)),
                                 Session("周六上午", time(9), time(12), (6,)))
    assert calendar.holidays == {date(2026, 10, 1), date(2026, 10, 2)}
    assert calendar.workdays == {date(2026, 10, 10)} and calendar.cutoff_minutes == 30
    late = parse_config(SMALL_HALL + CALENDAR.replace('end = "17:30"', 'end = "24:00"')).calendar.sessions[1]
    assert late.end is None  # 24:00: to the end of the day


def test_without_a_calendar_the_hall_is_open_at_all_hours_every_day() -> None:
    from server.calendar import ALL_DAY, CalendarConfig

    assert parse_config(SMALL_HALL).calendar == CalendarConfig()
    assert CalendarConfig().sessions == (ALL_DAY,) and ALL_DAY.days == (1, 2, 3, 4, 5, 6, 7) and ALL_DAY.end is None
    only_holidays = parse_config(SMALL_HALL + '\n[calendar]\nholidays = ["2026-10-01"]\n').calendar
    assert only_holidays.sessions == (ALL_DAY,) and len(only_holidays.holidays) == 1


@pytest.mark.parametrize(("change", "key", "needle", "fragment"), [
    (('start = "08:30"', 'start = "8h30"'), "calendar.sessions[0].start", "8h30", "'8h30': a time of day \"HH:MM\""),
    (('start = "08:30"', 'start = "24:00"'), "calendar.sessions[0].start", '"24:00"', "a time of day"),
    (('start = "08:30"', 'start = 830'), "calendar.sessions[0].start", "830", "830: a time of day"),
    (('start = 14:00:00', 'start = 14:00:30'), "calendar.sessions[1].start", "14:00:30", "a time of day"),
    (('end = "17:30"', 'end = "17:60"'), "calendar.sessions[1].end", "17:60", 'or "24:00"'),
    (('end = "17:30"', 'end = "24:30"'), "calendar.sessions[1].end", "24:30", "a time of day"),
    (('start = "08:30"\n', ''), "calendar.sessions[0].start", '[[calendar.sessions]]', "is required"),
    (('name = "上午"\n', ''), "calendar.sessions[0].name", '[[calendar.sessions]]', "is required"),
    (('end = "12:00"', 'end = "08:00"'), "calendar.sessions[0].end", 'end = "08:00"', "08:00 is not after start 08:30"),
    (('end = "12:00"', 'end = "08:30"'), "calendar.sessions[0].end", 'end = "08:30"', "08:30 is not after start 08:30"),
    (('days = [6]', 'days = [8]'), "calendar.sessions[2].days", "days = [8]", "8: weekdays 1 (Monday) to 7 (Sunday)"),
    (('days = [6]', 'days = [0]'), "calendar.sessions[2].days", "days = [0]", "0: weekdays 1 (Monday)"),
    (('days = [6]', 'days = ["sat"]'), "calendar.sessions[2].days", 'days = ["sat"]', "'sat': weekdays"),
    (('days = [6]', 'days = [true]'), "calendar.sessions[2].days", "days = [true]", "True: weekdays"),
    (('days = [6]', 'days = []'), "calendar.sessions[2].days", "days = []", "weekdays 1 (Monday) to 7 (Sunday)"),
    (('days = [6]', 'days = [6, 6]'), "calendar.sessions[2].days", "days = [6, 6]", "listed twice"),
    (('days = [6]', 'day = [6]'), "calendar.sessions[2].day", "day = [6]", "unknown key; one of name, start, end"),
    (('"2026-10-02"', '"2026-02-30"'), "calendar.holidays[1]", "holidays =", "'2026-02-30': a date such as"),
    (('"2026-10-02"', '"2026/10/02"'), "calendar.holidays[1]", "holidays =", "'2026/10/02': a date"),
    (('"2026-10-02"', '20261002'), "calendar.holidays[1]", "holidays =", "20261002: a date"),
    (('"2026-10-02"', '2026-10-02T08:00:00'), "calendar.holidays[1]", "holidays =", "2026-10-02 08:00:00: a date"),
    (('workdays = ["2026-10-10"]', 'workdays = ["2026-10-1"]'), "calendar.workdays[0]", "workdays =", "a date"),
    (('workdays = ["2026-10-10"]', 'workdays = ["2026-10-10", "2026-10-01"]'), "calendar.workdays[1]",
     "workdays =", "2026-10-01 is also in holidays"),
    (('cutoff_minutes = 30', 'cutoff_minutes = 180'), "calendar.cutoff_minutes", "cutoff_minutes",
     "180 minutes is not shorter than sessions[2] 周六上午 09:00-12:00 (180 minutes)"),
    (('cutoff_minutes = 30', 'cutoff_minutes = 241'), "calendar.cutoff_minutes", "cutoff_minutes", "between 0 and 240"),
    (('cutoff_minutes = 30', 'cutoff_minutes = -1'), "calendar.cutoff_minutes", "cutoff_minutes", "between 0 and 240"),
    (('cutoff_minutes = 30', 'cutoff_minutes = "30"'), "calendar.cutoff_minutes", "cutoff_minutes", "an integer"),
    (('cutoff_minutes = 30', 'cutof_minutes = 30'), "calendar.cutof_minutes", "cutof_minutes", "unknown key"),
    (('holidays = [2026-10-01, "2026-10-02"]', 'holidays = "2026-10-01"'), "calendar.holidays", "holidays =",
     "must be a list"),
])
def test_each_calendar_mistake_names_its_key_and_line(change: tuple[str, str], key: str, needle: str,
                                                      fragment: str) -> None:
    text = SMALL_HALL + CALENDAR.replace(*change, 1)
    error = error_of(text)
    assert error.key == key, str(error)
    assert fragment in str(error), str(error)
    occurrence = {"calendar.sessions[1]": 2, "calendar.sessions[2]": 3}.get(key.rsplit(".", 1)[0], 1)
    assert error.line == line_of(text, needle, occurrence if needle.startswith("[[") else 1)
    assert f"config.toml:{error.line}: {key}: " in str(error)


def test_overlapping_sessions_on_a_common_day_are_refused_at_the_later_session() -> None:
    text = SMALL_HALL + CALENDAR.replace('start = 14:00:00', 'start = "11:30"')
    error = error_of(text)
    assert error.key == "calendar.sessions[1]"
    assert error.line == line_of(text, "[[calendar.sessions]]", occurrence=2)
    assert "下午 11:30-17:30 overlaps sessions[0] 上午 08:30-12:00 on 周一、周二、周三、周四、周五" in str(error)
    one_day = CALENDAR.replace('start = 14:00:00', 'start = "11:30"').replace("days = [5, 1, 2, 3, 4]", "days = [3, 6]")
    error = error_of(SMALL_HALL + one_day)  # only the common days are named
    assert error.key == "calendar.sessions[1]" and str(error).endswith("上午 08:30-12:00 on 周三")
    # sessions meeting end to start, and the same hours on different days, are fine
    touching = CALENDAR.replace('start = 14:00:00', 'start = "12:00"')
    assert parse_config(SMALL_HALL + touching).calendar.sessions[1].start.hour == 12


def test_a_calendar_of_no_sessions_and_make_up_days_without_monday_are_refused() -> None:
    text = SMALL_HALL + "\n[calendar]\nsessions = []\n"
    error = error_of(text)
    assert error.key == "calendar.sessions" and error.line == line_of(text, "sessions = []")
    assert "at least one session" in str(error)
    weekend = ('\n[calendar]\nworkdays = ["2026-10-10"]\n\n[[calendar.sessions]]\nname = "周末"\nstart = "09:00"\n'
               'end = "12:00"\ndays = [6, 7]\n')
    error = error_of(SMALL_HALL + weekend)
    assert error.key == "calendar.workdays" and "Monday's sessions" in str(error)
    text = SMALL_HALL + '\n[calendar]\nsessions = "上午"\n'
    assert error_of(text).key == "calendar.sessions" and "must be a list" in str(error_of(text))


def test_the_line_of_a_key_in_a_nested_array_of_tables_is_found() -> None:
    # no [calendar] header at all: [[calendar.sessions]] alone
    sessions = CALENDAR.split("\n[[calendar.sessions]]", 1)[1]
    text = SMALL_HALL + "\n[[calendar.sessions]]" + sessions.replace('end = "17:30"', 'end = "1730"')
    error = error_of(text)
    assert error.key == "calendar.sessions[1].end" and error.line == line_of(text, '"1730"')
    # a key of [calendar] itself, after its sessions in another order of tables, still finds [calendar]
    text = SMALL_HALL + CALENDAR.replace('cutoff_minutes = 30', 'cutoff_minutes = 999')
    assert error_of(text).line == line_of(text, "cutoff_minutes")
    # other keys keep their lines: a window after the calendar, a printer before it
    text = SMALL_HALL + CALENDAR + '\n[[windows]]\nid = 5\nname = "5号窗口"\nservices = ["passport"]\n'
    error = error_of(text)
    assert error.key == "windows[4].services" and error.line == line_of(text, '"passport"')


@pytest.mark.parametrize(("cap", "fragment"), [("0", "between 1 and 999"), ("1000", "between 1 and 999"),
                                               ('"30"', "must be an integer")])
def test_session_cap_is_checked_like_daily_cap(cap: str, fragment: str) -> None:
    text = SMALL_HALL.replace('prefix = "B"\n', f'prefix = "B"\nsession_cap = {cap}\n')
    error = error_of(text)
    assert error.key == "services[1].session_cap" and fragment in str(error)
    assert error.line == line_of(text, "session_cap")


def test_session_cap_parses_and_defaults_to_none() -> None:
    hall = parse_config(SMALL_HALL.replace('prefix = "A"\n', 'prefix = "A"\ndaily_cap = 50\nsession_cap = 30\n'))
    assert (hall.service("id-card").daily_cap, hall.service("id-card").session_cap) == (50, 30)
    assert hall.service("hukou").session_cap is None


def test_the_realistic_hall_example_parses_with_the_2026_calendar() -> None:
    from datetime import date, datetime

    from server.calendar import HallCalendar

    hall = load_config(ROOT / "examples" / "realistic-hall.toml")
    assert {s.code for s in hall.services} == {s.code for s in load_config(ROOT / "config.toml").services}
    calendar = HallCalendar(hall.calendar, hall.timezone)
    assert hall.calendar.cutoff_minutes == 30 and len(hall.calendar.holidays) == 33
    assert hall.calendar.workdays == {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                                      date(2026, 9, 20), date(2026, 10, 10)}
    assert all(day.isoweekday() >= 6 for day in hall.calendar.workdays)
    zone = hall.timezone
    assert calendar.accepting(datetime(2026, 11, 30, 16, 59, tzinfo=zone))
    assert not calendar.accepting(datetime(2026, 11, 30, 17, 0, tzinfo=zone))
    assert calendar.accepting(datetime(2026, 12, 5, 10, 0, tzinfo=zone))  # a Saturday morning
    assert not calendar.accepting(datetime(2026, 10, 3, 10, 0, tzinfo=zone))  # a Saturday in 国庆
    assert calendar.describe_next_open(datetime(2026, 9, 30, 18, 0, tzinfo=zone)) == "10月8日（周四）08:30"
    assert calendar.describe_next_open(datetime(2026, 10, 9, 18, 0, tzinfo=zone)) == "明天 08:30"  # 调休 Saturday
    capped = {s.code: (s.daily_cap, s.session_cap) for s in hall.services if s.daily_cap or s.session_cap}
    assert capped["hukou-id"] == (50, 30) and hall.service("hukou-id").name == "居民身份证核发"


def test_an_item_promises_working_days_or_on_the_spot_and_the_hall_a_complaint_phone() -> None:
    text = SMALL_HALL.replace("daily_cap = 5", 'daily_cap = 5\npromised_working_days = 30', 1)
    text = text.replace("[hall]", '[hall]\ncomplaint_phone = "0371-12345678"', 1)
    hall = parse_config(text)
    assert [s.promised_working_days for s in hall.services].count(30) == 1
    assert hall.hall.complaint_phone == "0371-12345678"
    on_the_spot = parse_config(SMALL_HALL.replace("daily_cap = 5", 'daily_cap = 5\npromised_working_days = "即办"'))
    assert "即办" in [s.promised_working_days for s in on_the_spot.services]
    assert parse_config(SMALL_HALL).complaints.answer_working_days == 5
    error = error_of(SMALL_HALL + "\n[cases]\nanswer_working_days = 0\n")
    assert error.key == "cases.answer_working_days" and "between 1 and 30" in str(error)


def test_an_item_names_its_fee_basis_basis_and_phone_for_the_kiosk_guide() -> None:
    """服务行为标准 1.2: the demo halls fill 收费依据, 设立依据 and a 咨询电话 (the item's or the hall's) for every
    item."""
    guide = '\nfee_basis = "不收费"\nbasis = "《中华人民共和国社会保险法》"\nphone = "0371-1234567"'
    pension = parse_config(SMALL_HALL.replace("daily_cap = 5", "daily_cap = 5" + guide, 1)).service("pension")
    assert (pension.fee_basis, pension.basis, pension.phone) == (
        "不收费", "《中华人民共和国社会保险法》", "0371-1234567")
    for path in (ROOT / "config.toml", ROOT / "examples" / "realistic-hall.toml"):
        demo = load_config(path)
        assert demo.hall.phone and demo.hall.complaint_phone, path
        for service in demo.services:
            assert service.fee_basis and service.basis.startswith("《") and service.steps and service.materials, (
                path, service.code)
            assert (service.fee_basis == "不收费") == (service.fees == "免费"), (path, service.code)


def test_a_window_is_a_party_post_only_when_config_says_so() -> None:
    """党员服务岗 (场所设施标准 2.1.5): ``party_post = true`` on the window; every other window is not one."""
    hall = parse_config(SMALL_HALL.replace('name = "2号窗口"', 'name = "2号窗口"\nparty_post = true'))
    assert [(w.name, w.party_post) for w in hall.windows][:2] == [("1号窗口", False), ("2号窗口", True)]
