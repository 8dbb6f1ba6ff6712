"""[assessment] in config.toml (the staff assessment's points) and the score it gives (server/assessment.py)."""

from __future__ import annotations

from typing import Any

import pytest

from server import assessment
from server.config import parse_config
from tests.conftest import SMALL_HALL
from tests.unit.test_config import error_of, line_of

POINTS = """
[assessment]
base_points = 120
complaint_points = 10
late_points = 3
extension_points = 4
satisfaction_points = 2
"""


def figures(upheld: int = 0, rate: float | None = None, promised: tuple[int, int, int] = (0, 0, 0),
            extended: int = 0, forward: tuple[int, int, int] = (0, 0, 0), answer: tuple[int, int, int] = (0, 0, 0),
            review: tuple[int, int, int] = (0, 0, 0), total: int = 0) -> dict[str, Any]:
    """The parts of a clerk's figures (stats.Statistics._json) the score reads; each stage (on time, late,
    overdue); ``total`` 承诺件."""
    def stage(outcomes: tuple[int, int, int]) -> dict[str, int]:
        return dict(zip(("on_time", "late", "overdue"), outcomes, strict=True))
    return {"satisfaction_rate": rate, "complaints": {"upheld": upheld},
            "promised": {**stage(promised), "extended": extended, "total": total},
            "approval": {"forward": stage(forward), "answer": stage(answer)}, "review": stage(review)}


def test_the_defaults_score_out_of_100() -> None:
    config = parse_config(SMALL_HALL)
    assert config.assessment.base_points == 100
    assert assessment.score(config, figures()) == {
        "score": 100, "deductions": {"complaint": 0, "late": 0.0, "extension": 0.0, "satisfaction": 0.0},
        "missed": 0, "missed_share": 0.0, "extended_share": 0.0}
    # as documented: one complaint upheld, 2 deadlines missed of 40 (5%), 1 承诺件 extended of 20 (5%), 95%
    # satisfied (3 points short of 98%): 100 − 5 − 5 − 5 − 3
    clerk = figures(upheld=1, promised=(18, 1, 0), forward=(10, 0, 1), answer=(10, 0, 0), extended=1, total=20,
                    rate=0.95)
    assert assessment.score(config, clerk)["score"] == 82
    assert assessment.score(config, figures(upheld=30))["score"] == 0  # never below 0


def test_the_points_come_from_config_and_every_stage_counts() -> None:
    config = parse_config(SMALL_HALL + POINTS)
    # 5 of 20 deadlines missed (25%) across the four stages; 3 of 12 承诺件 extended (25%); 90%: 8 points short
    clerk = figures(upheld=2, promised=(5, 1, 1), forward=(3, 1, 0), answer=(3, 0, 1), review=(4, 1, 0),
                    extended=3, total=12, rate=0.9)
    answer = assessment.score(config, clerk)
    assert answer == {"score": 0.0, "deductions": {"complaint": 20, "late": 75.0, "extension": 100.0,
                                                   "satisfaction": 16.0},
                      "missed": 5, "missed_share": 0.25, "extended_share": 0.25}
    assert assessment.score(config, figures(upheld=1, promised=(19, 1, 0), rate=0.97))["score"] == 120 - 10 - 15 - 2
    assert assessment.score(config, figures(rate=1.0))["score"] == 120  # above the target: no bonus, no deduction
    assert assessment.formula(config)["text"] == ("得分 = 120 − 投诉属实件数×10 − 办件超时率(%)×3 − "
                                                  "承诺件延期率(%)×4 − 满意率低于目标 98% 的百分点×2（最低 0 分）")


@pytest.mark.parametrize(("change", "key", "fragment"), [
    ("base_points = 0", "assessment.base_points", "must be between 1 and 1000 (points)"),
    ("base_points = 1001", "assessment.base_points", "must be between 1 and 1000"),
    ("complaint_points = -1", "assessment.complaint_points", "must be between 0 and 1000"),
    ("late_points = \"2\"", "assessment.late_points", "integer"),
    ("satisfaction_points = 1.5", "assessment.satisfaction_points", "integer"),
    ("bonus = 5", "assessment.bonus", "unknown key"),
    ("base_points = 10\ncomplaint_points = 11", "assessment.complaint_points", "must not exceed base_points (10)"),
    ("base_points = 10\nextension_points = 20", "assessment.extension_points", "must not exceed base_points"),
])
def test_a_wrong_point_is_refused_with_its_key_and_line(change: str, key: str, fragment: str) -> None:
    text = SMALL_HALL + "\n[assessment]\n" + change + "\n"
    message = str(error_of(text))
    assert key in message and fragment in message, message
    assert message.startswith(f"config.toml:{line_of(text, change.splitlines()[-1])}: "), message
