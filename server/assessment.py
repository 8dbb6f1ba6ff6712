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

Deductions (each weight never more than base_points, config.toml refuses that). A complaint upheld costs points
each time, as halls count them (每查实一次); the others are rates, so a busy window is not marked down for its
volume and a year's score means what a day's means:

- complaint: complaint_points × 投诉属实 (the complaint's own business date, counted against its clerk and window)
- late: late_points × the percentage points by which the deadlines kept fall short of 100% (2.2, lines 740-744:
  承诺件期限内的办结率 100%): missed (finished late, or still open past the date) ÷ the deadlines whose outcome is
  known, over 承诺件 (3.4.2.2), 报批件 上报 and the answer after the 批复 (2.4), 退回件 复核 (3.2.2.1)
- extension: extension_points × the percentage of 承诺件 whose date was set beyond the item's 承诺时限
  (不得随意延长, 3.4.2.2)
- satisfaction: satisfaction_points × the percentage points the satisfaction rate falls short of
  [evaluation] target_rate (98%, 2.5); none when nothing was rated
"""

from __future__ import annotations

from typing import Any

from server.config import HallConfig
from server.vocabulary import ASSESSMENT_DEDUCTIONS


def score(config: HallConfig, figures: dict[str, Any]) -> dict[str, Any]:
    """The score of one clerk's or window's figures (stats.Statistics._json), with each deduction, the deadlines
    missed and the share of them (the late deduction's), the share of 承诺件 extended."""
    settings = config.assessment
    stages = (figures["promised"], figures["approval"]["forward"], figures["approval"]["answer"], figures["review"])
    missed = sum(stage["late"] + stage["overdue"] for stage in stages)
    known = missed + sum(stage["on_time"] for stage in stages)
    promised = figures["promised"]
    missed_share = missed / known if known else 0.0
    extended_share = promised["extended"] / promised["total"] if promised["total"] else 0.0
    rate = figures["satisfaction_rate"]
    shortfall = 0.0 if rate is None else max(0.0, config.evaluation.target_rate - rate)
    deductions = {"complaint": settings.complaint_points * figures["complaints"]["upheld"],
                  "late": round(settings.late_points * missed_share * 100, 2),
                  "extension": round(settings.extension_points * extended_share * 100, 2),
                  "satisfaction": round(settings.satisfaction_points * shortfall * 100, 2)}
    return {"score": round(max(0.0, settings.base_points - sum(deductions.values())), 2),
            "deductions": deductions, "missed": missed, "missed_share": round(missed_share, 4),
            "extended_share": round(extended_share, 4)}


def formula(config: HallConfig) -> dict[str, Any]:
    """The formula and its points, for the screen and the export to say how a score was reached."""
    settings = config.assessment
    target = round(config.evaluation.target_rate * 100, 2)
    terms = (f"{ASSESSMENT_DEDUCTIONS['complaint']}件数×{settings.complaint_points}",
             f"{ASSESSMENT_DEDUCTIONS['late']}率(%)×{settings.late_points}",
             f"{ASSESSMENT_DEDUCTIONS['extension']}率(%)×{settings.extension_points}",
             f"满意率低于目标 {target:g}% 的百分点×{settings.satisfaction_points}")
    return {"base_points": settings.base_points, "complaint_points": settings.complaint_points,
            "late_points": settings.late_points, "extension_points": settings.extension_points,
            "satisfaction_points": settings.satisfaction_points,
            "text": f"得分 = {settings.base_points} − " + " − ".join(terms) + "（最低 0 分）"}
