"""The admin's pages (中心负责人): the hall's statistics with charts and exports, the follow-ups —
整改 of poor ratings, overdue 承诺件 and 报批件 — the complaint register (投诉: answered, upheld, closed), the
staff accounts and devices, the month archives of the guide desk's registers (档案) and what works and why not
(运行状态: /api/health, the district's copy included). Staff login with the admin role; the data come from the
API. /account: every staff member changes their own password."""

from collections.abc import Callable

from flask import Blueprint, current_app, render_template

bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
               static_url_path="/admin/static")


def _page(template: str) -> Callable[[], str]:
    """A page whose data come from the API: the template only needs the hall."""
    def view() -> str:
        return render_template(template, hall=current_app.extensions["hallq"].config)
    return view


for _path, _name in (("/admin/stats", "stats"), ("/admin/followups", "followups"),
                     ("/admin/complaints", "complaints"), ("/admin/staff", "staff"), ("/admin/devices", "devices"),
                     ("/admin/archives", "archives"), ("/admin/health", "health"), ("/account", "account")):
    bp.add_url_rule(_path, _name, _page(f"{_name}.html"))
