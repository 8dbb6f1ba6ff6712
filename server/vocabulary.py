"""The hall's words, said once: every label a screen, a ticket, a notice or an export shows for a code.

The Python modules import these tables and the screens receive them with the page (``words()`` in a JSON data
block of screen.html, read by ``hallq.words()``), so no JavaScript holds a copy that could drift. Where copies
disagreed, the word of the seed manual or of the national rules won (过号 and 已转移: the caller's operations).
"""

from __future__ import annotations

from typing import Any

# ---------------------------------------------------------------- tickets and windows

#: A ticket's status as staff see it (caller, guide desk, ticket lookups).
TICKET_STATUS: dict[str, str] = {"waiting": "等候中", "called": "已呼叫", "serving": "办理中", "done": "已办结",
                                 "no_show": "过号", "transferred": "已转移"}
#: The same on the resident's phone, spoken to the resident while it concerns them now.
RESIDENT_TICKET_STATUS: dict[str, str] = {**TICKET_STATUS, "called": "正在呼叫您", "serving": "正在办理"}
#: A waiting ticket of an earlier day, on the resident's phone.
EXPIRED = "已过期"
#: A window's status on the caller: who is signed in there.
WINDOW_STATUS: dict[str, str] = {"open": "服务中", "paused": "暂停服务", "closed": "未签到"}
#: A window that calls nobody, on the public screens (the hall TV and the window screen): residents are not told
#: who signed in.
WINDOW_STATE_PUBLIC: dict[str, str] = {"paused": "暂停服务", "closed": "未开放"}
#: 党员服务岗 (场所设施标准 2.1.5, seed lines 1089-1091): the mark of a window so configured, on the hall TV and the
#: window screen; 党员: the badge by a signed-in party member's name (党员“亮身份”).
PARTY_POST = "党员服务岗"
PARTY_MEMBER = "党员"
#: The number above a window screen: being called or being served.
WINDOW_NOW: dict[str, str] = {"called": "正在呼叫", "serving": "正在办理"}

# ---------------------------------------------------------------- 绿色通道

#: Who the guide desk may put ahead (军人依法优先; elderly, disabled and expectant residents by the hall's rule).
PRIORITY_NAMES: dict[str, str] = {"elderly": "老年人", "disabled": "残疾人", "military": "军人", "pregnant": "孕妇"}
PRIORITIES: tuple[str, ...] = tuple(PRIORITY_NAMES)

# ---------------------------------------------------------------- 预约

#: 预约 kinds: at a window in opening hours, a visit to the resident's home (上门服务), on a day the hall is closed
APPOINTMENT_KINDS: dict[str, str] = {"window": "窗口", "home": "上门", "holiday": "节假日"}
#: how the request reached the hall (seed 6.1: phone or letter; at the guide desk; a future online channel)
APPOINTMENT_CHANNELS: dict[str, str] = {"phone": "电话", "letter": "信函", "desk": "现场", "online": "网上"}
#: what became of a 预约, in the guide desk's and the resident's words
APPOINTMENT_STATUS: dict[str, str] = {"booked": "已预约", "checked_in": "已签到取号",
                                      "forfeited": "已失效（超时未到）", "cancelled": "已取消", "rejected": "不予预约",
                                      "done": "已办理", "not_done": "未办理"}

# ---------------------------------------------------------------- 一事一评 and 五件制

#: The national five levels (好差评, GB/T 39734-2020) with their exact labels, best first.
RATING_LEVELS: dict[str, str] = {"very_satisfied": "非常满意", "satisfied": "满意", "basic": "基本满意",
                                 "dissatisfied": "不满意", "very_dissatisfied": "非常不满意"}
#: A ticket whose resident gave no rating.
UNRATED = "未评价"
#: How a 未评价 counts in the satisfaction rate: left out, as 满意, or as 基本满意.
UNRATED_RULES: dict[str, str] = {"exclude": "不计入", "satisfied": "按满意计", "basic": "按基本满意计"}
#: 五件制 (事项办理标准 3): how a finished ticket's case was handled.
CASE_TYPES: dict[str, str] = {"immediate": "即办件", "promised": "承诺件", "supplement": "补办件",
                              "returned": "退回件", "approval": "报批件"}
#: The time points of a case (办理质量 2.2: 受理、审核、决定、送达), with the 补办件's 补齐 (3.3.2.2) and the 报批件's
#: 上报 and 批复 (2.4, 3.5.2.2); 复核: a 退回件's resident asked for a review (3.2.2.3), and its answer.
CASE_STEPS: dict[str, str] = {"accepted": "受理", "supplemented": "补齐", "checked": "审核", "forwarded": "上报",
                              "approved": "批复到达", "decided": "决定", "delivered": "送达",
                              "review_requested": "申请复核", "reviewed": "复核答复"}
#: A 复核's outcome: the 退回 stands, or it is withdrawn and the application taken in again.
REVIEW_RESULTS: dict[str, str] = {"upheld": "维持", "revoked": "撤销"}
#: The deductions of the staff assessment's score (考核, server/assessment.py)
ASSESSMENT_DEDUCTIONS: dict[str, str] = {"complaint": "投诉属实", "late": "办件超时", "extension": "承诺件延期",
                                         "satisfaction": "满意率未达标"}

# ---------------------------------------------------------------- staff, devices, the guide desk

STAFF_ROLES: dict[str, str] = {"admin": "管理员", "guide": "导询员", "clerk": "窗口工作人员"}
#: evaluator: the rating tablet at a window
DEVICE_KINDS: dict[str, str] = {"kiosk": "取号机", "display": "显示屏", "evaluator": "评价器"}
#: 值班记录 kinds (导询服务规范 4)
DUTY_KINDS: dict[str, str] = {"general": "一般事项", "emergency": "突发事件", "major": "重大事件"}
#: 来电来访: how an enquiry reached the guide desk
ENQUIRY_CHANNELS: dict[str, str] = {"phone": "来电", "visit": "来访", "letter": "来信"}
#: 投诉: how a complaint reached the hall (机构建设 4.3: 电话投诉、征求意见卡 …; the rating tablet; online)
COMPLAINT_CHANNELS: dict[str, str] = {"phone": "来电", "letter": "来信", "visit": "来访", "evaluator": "评价器",
                                      "online": "网上"}
#: what the complaint register lists (server/complaints.py STATUSES)
COMPLAINT_STATUS: dict[str, str] = {"open": "未办结", "overdue": "超期未答复", "closed": "已办结", "all": "全部"}

# ---------------------------------------------------------------- the kiosk's 长辈模式

#: What the kiosk says aloud in 长辈模式 (server/prompts.py): what each screen asks, the item chosen, the ticket.
#: {item}: the item's name; {number}: the ticket's number read digit by digit; {windows}: its 办理窗口.
KIOSK_PROMPTS: dict[str, str] = {"home": "请选择您要办理的业务", "category": "请选择办理事项",
                                 "appointment": "请输入预约码或手机号", "item": "您选择的是{item}",
                                 "ticket": "您的号码是{number}号，请留意叫号，到{windows}办理"}

# ---------------------------------------------------------------- days and times

#: ISO weekday (1 = Monday … 7 = Sunday) → its character: 周一 on a kiosk, 星期一 in a date line.
WEEKDAYS: dict[int, str] = {1: "一", 2: "二", 3: "三", 4: "四", 5: "五", 6: "六", 7: "日"}
WEEKDAY_NAMES: dict[int, str] = {day: f"周{char}" for day, char in WEEKDAYS.items()}


def words() -> dict[str, Any]:
    """Everything the screens show for a code, as served with every page (screen.html's ``hall-words``)."""
    return {"ticket_status": TICKET_STATUS, "window_status": WINDOW_STATUS, "window_state_public": WINDOW_STATE_PUBLIC,
            "window_now": WINDOW_NOW, "priority_names": PRIORITY_NAMES, "appointment_kinds": APPOINTMENT_KINDS,
            "appointment_channels": APPOINTMENT_CHANNELS, "rating_levels": RATING_LEVELS, "unrated": UNRATED,
            "case_types": CASE_TYPES, "case_steps": CASE_STEPS, "review_results": REVIEW_RESULTS,
            "complaint_channels": COMPLAINT_CHANNELS, "complaint_status": COMPLAINT_STATUS,
            "assessment_deductions": ASSESSMENT_DEDUCTIONS, "staff_roles": STAFF_ROLES, "device_kinds": DEVICE_KINDS,
            "weekdays": {str(day): char for day, char in WEEKDAYS.items()}, "party_post": PARTY_POST,
            "party_member": PARTY_MEMBER}
