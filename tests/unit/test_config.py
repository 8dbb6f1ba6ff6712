"""config.toml validation: every error names the key and the line."""

from __future__ import annotations

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
