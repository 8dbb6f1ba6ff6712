"""The seed's words (issue 16 point 9): 一事一评 (流程制度 2.5, seed line 769), the 退回 grounds of 3.2.1 (seed lines
796-802), and the 人口和生育服务 items 一孩生育登记 and 二孩生育登记 (事项目录 1.2, seed line 660)."""

from __future__ import annotations

from pathlib import Path

from server.config import DEFAULT_RETURN_REASONS, load_config

ROOT = Path(__file__).resolve().parents[2]
#: what the project ships and shows: code, screens, config, docs, deployment files (not the tests, which name the
#: wrong word to find it, nor what is made locally)
SKIPPED = {".git", ".venv", "tests", "vendor", "results", "__pycache__", ".pytest_cache", ".ruff_cache", "instance",
           "artifacts", "build", "dist"}
SUFFIXES = {".py", ".js", ".html", ".css", ".md", ".toml", ".json", ".txt", ".service", ".timer", ".conf", ".ini",
            ".desktop", ".env", ".rules"}


def shipped() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*") if path.is_file() and path.suffix in SUFFIXES
                  and not SKIPPED & set(path.relative_to(ROOT).parts))


def test_the_rating_is_called_one_rating_per_matter_everywhere() -> None:
    files = shipped()
    assert ROOT / "server" / "evaluation.py" in files and ROOT / "track" / "static" / "track.js" in files
    wrong = "一次" + "一评"
    assert [str(path.relative_to(ROOT)) for path in files if wrong in path.read_text(encoding="utf-8")] == []
    assert "一事一评" in (ROOT / "server" / "evaluation.py").read_text(encoding="utf-8")


def test_the_return_grounds_are_the_manuals() -> None:
    assert DEFAULT_RETURN_REASONS == ("申报材料主件缺少", "明显不符合国家、省、市有关产业政策及技术规范要求",
                                      "经现场踏勘、调查核实不具备有关批准条件")


def test_the_demo_and_the_example_hall_have_the_two_birth_registrations() -> None:
    for config in (ROOT / "config.toml", ROOT / "examples" / "realistic-hall.toml"):
        hall = load_config(config)
        names = {s.name: s for s in hall.services}
        assert "生育登记" not in names
        first, second = names["一孩生育登记"], names["二孩生育登记"]
        assert (first.code, first.prefix, second.code, second.prefix) == ("birth-first", "E", "birth-second", "EB")
        assert first.category == second.category == "人口和生育服务"
        windows = [[w.id for w in hall.windows_serving(code)] for code in ("birth-first", "birth-second")]
        assert windows[0] == windows[1]
