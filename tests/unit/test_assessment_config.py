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


def figures(upheld: int = 0, rate: float | None = None, late: int = 0, overdue: int = 0, extended: int = 0,
            forward_late: int = 0, answer_overdue: int = 0, review_late: int = 0) -> dict[str, Any]:
    """The parts of a clerk's figures (stats.Statistics._json) the score reads."""
    def stage(late: int = 0, overdue: int = 0) -> dict[str, int]:
        return {"late": late, "overdue": overdue}
    return {"satisfaction_rate": rate, "complaints": {"upheld": upheld},
            "promised": {**stage(late, overdue), "extended": extended},
            "approval": {"forward": stage(late=forward_late), "answer": stage(overdue=answer_overdue)},
            "review": stage(late=review_late)}


def test_the_defaults_score_out_of_100() -> None:
    config = parse_config(SMALL_HALL)
    assert config.assessment.base_points == 100
    assert assessment.score(config, figures()) == {"score": 100, "deductions": {
        "complaint": 0, "late": 0, "extension": 0, "satisfaction": 0.0}, "missed": 0}
    # one complaint upheld, one 承诺件 late, 95% satisfied (3 points short of 98%): 100 − 5 − 2 − 3, as documented
    assert assessment.score(config, figures(upheld=1, late=1, rate=0.95))["score"] == 90
    assert assessment.score(config, figures(upheld=30))["score"] == 0  # never below 0


def test_the_points_come_from_config_and_every_missed_deadline_counts() -> None:
    config = parse_config(SMALL_HALL + POINTS)
    answer = assessment.score(config, figures(upheld=2, late=1, overdue=1, forward_late=1, answer_overdue=1,
                                              review_late=1, extended=3, rate=0.9))
    assert answer == {"score": 120 - 20 - 15 - 12 - 16.0,
                      "deductions": {"complaint": 20, "late": 15, "extension": 12, "satisfaction": 16.0},
                      "missed": 5}
    assert assessment.score(config, figures(rate=1.0))["score"] == 120  # above the target: no bonus, no deduction
    assert assessment.formula(config)["text"] == ("得分 = 120 − 投诉属实×10 − 办件超时×3 − 承诺件延期×4 − "
                                                  "低于满意率目标 98% 的百分点×2（最低 0 分）")


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
