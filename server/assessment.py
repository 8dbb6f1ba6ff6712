"""The staff assessment (考核, 机构建设 4.5-4.7, seed lines 289-300): a score for each clerk and each window of a
period, out of ``[assessment] base_points`` less points for each shortfall.

层层挂钩 (4.6) is kept by computing every score from the period's summed counts, never from other scores:

- 窗口工作人员考核与窗口考核挂钩: a window's figures are what its clerks did at it (every served ticket, rating,
  case and upheld complaint counts for the clerk and for the window of the event), and its score is worked out
  from them by the same formula. A complaint upheld against a clerk at window 2 lowers both scores.
- 日常 → 月度 → 季度 → 年度: a month's counts are the sums of its days', a quarter's of its months', a year's
  of its quarters'; rates (satisfaction) are recomputed from the summed counts, not averaged, and the score is
  computed once from them. A day's scores do not add up to a month's (a deduction is per shortfall, the
  satisfaction shortfall is of the month's rate): the counts do.

Deductions (each never more than base_points, config.toml refuses that):

- complaint: complaint_points × 投诉属实 (the complaint's own business date, counted against its clerk and window)
- late: late_points × the deadlines missed (finished late, or overdue and still open) of the cases recorded in the
  period: 承诺件 (3.4.2.2), 报批件 上报 and the answer after the 批复 (2.4), 退回件 复核 (3.2.2.1)
- extension: extension_points × 承诺件 whose date was set beyond the item's 承诺时限 (不得随意延长, 3.4.2.2)
- satisfaction: satisfaction_points × the percentage points the satisfaction rate falls short of
  [evaluation] target_rate (98%, 2.5); none when nothing was rated
"""

from __future__ import annotations

from typing import Any

from server.config import HallConfig
from server.vocabulary import ASSESSMENT_DEDUCTIONS


def missed(figures: dict[str, Any]) -> int:
    """The deadlines missed in one scope's figures (the late deduction counts them)."""
    stages = (figures["promised"], figures["approval"]["forward"], figures["approval"]["answer"], figures["review"])
    return sum(stage["late"] + stage["overdue"] for stage in stages)


def score(config: HallConfig, figures: dict[str, Any]) -> dict[str, Any]:
    """The score of one clerk's or window's figures (stats.Statistics._json), with each deduction and the
    deadlines missed (the count the late deduction is of)."""
    settings = config.assessment
    rate = figures["satisfaction_rate"]
    shortfall = 0.0 if rate is None else max(0.0, config.evaluation.target_rate - rate) * 100
    deductions = {"complaint": settings.complaint_points * figures["complaints"]["upheld"],
                  "late": settings.late_points * missed(figures),
                  "extension": settings.extension_points * figures["promised"]["extended"],
                  "satisfaction": round(settings.satisfaction_points * shortfall, 2)}
    return {"score": round(max(0.0, settings.base_points - sum(deductions.values())), 2),
            "deductions": deductions, "missed": missed(figures)}


def formula(config: HallConfig) -> dict[str, Any]:
    """The formula and its points, for the screen and the export to say how a score was reached."""
    settings = config.assessment
    target = round(config.evaluation.target_rate * 100, 2)
    terms = (f"{ASSESSMENT_DEDUCTIONS['complaint']}×{settings.complaint_points}",
             f"{ASSESSMENT_DEDUCTIONS['late']}×{settings.late_points}",
             f"{ASSESSMENT_DEDUCTIONS['extension']}×{settings.extension_points}",
             f"低于满意率目标 {target:g}% 的百分点×{settings.satisfaction_points}")
    return {"base_points": settings.base_points, "complaint_points": settings.complaint_points,
            "late_points": settings.late_points, "extension_points": settings.extension_points,
            "satisfaction_points": settings.satisfaction_points,
            "text": f"得分 = {settings.base_points} − " + " − ".join(terms) + "（最低 0 分）"}
