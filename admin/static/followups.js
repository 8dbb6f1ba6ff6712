/* /admin/followups: 整改 of poor ratings (closed by the admin with a note; turned into a complaint on request) and
 * the cases left to do (承诺件, 补办件, 报批件, 退回件 awaiting 复核), overdue ones first in red, with how many working days
 * are left or past; the admin may mark a case's next time point (审核, 决定, 上报, 批复到达, 送达 …) as its clerk may. */
(() => {
  "use strict";
  const { h } = hallq;
  const { table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);
  const state = { status: "open", closing: null };

  /** "12-02 09:05" in the hall (an ISO instant in UTC may carry the day before). */
  const when = (iso) => (iso ? `${hallq.dayOf(iso).slice(5)} ${hallq.time(iso)}` : "—");

  function deadline(item, due = item.due) {
    if (item.closed) return h("span", {}, `${due}（已办结）`);
    const text = hallq.workingDaysLeft(item.working_days_left);
    return h("span", { class: item.overdue ? "is-overdue" : "" }, `${due} · ${text}`);
  }

  async function loadFollowups() {
    let followups;
    try {
      ({ followups } = await hallq.api("GET", `/api/followups?status=${state.status}`));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    $("followups-empty").hidden = followups.length > 0;
    table($("followups"), ["号码", "事项", "窗口", "工作人员", "评价", "原因", "意见", "评价时间", "整改期限", "整改情况",
      "投诉"],
      followups.map((f) => [f.number, f.service_name, f.window_name,
        `${f.clerk.name}${f.clerk.staff_no ? `（${f.clerk.staff_no}）` : ""}`,
        h("span", { class: "level-poor" }, f.level_name), f.reason || "—", f.comment || "—", when(f.rated_at),
        deadline(f), f.closed ? `${f.note}（${f.closed_by} ${when(f.closed_at)}）`
          : h("button", { class: "btn btn-primary", type: "button", dataset: { followup: f.id },
            onclick: () => openClose(f) }, "办结整改"), complaintCell(f)]));
  }

  /** A poor rating becomes a complaint on request (the resident wants an answer): once, then a link to it. */
  function complaintCell(followup) {
    if (followup.complaint) return h("a", { href: "/admin/complaints" }, `第 ${followup.complaint} 号投诉`);
    return h("button", { class: "btn", type: "button", dataset: { complain: followup.id }, onclick: async () => {
      try {
        const { complaint } = await hallq.api("POST", `/api/complaints/from-rating/${followup.id}`);
        hallq.toast(`${followup.number} 的评价已转为第 ${complaint.id} 号投诉，请到「投诉处理」答复`, "ok", 4000);
      } catch (err) {
        hallq.toast(err.message);
      }
      loadFollowups();
    } }, "转为投诉");
  }

  function openClose(followup) {
    state.closing = followup;
    $("close-what").textContent = `${followup.number} · ${followup.service_name} · ${followup.window_name} · ${followup.clerk.name} · ${followup.level_name}（${followup.reason}）`;
    $("close-note").value = "";
    $("close-error").textContent = "";
    $("close-dialog").showModal();
    $("close-note").focus();
  }

  async function closeFollowup(event) {
    event.preventDefault();
    try {
      await hallq.api("POST", `/api/followups/${state.closing.id}/close`, { note: $("close-note").value });
    } catch (err) {
      $("close-error").textContent = err.message;
      return;
    }
    $("close-dialog").close();
    hallq.toast(`${state.closing.number} 的整改已办结`, "ok", 3000);
    loadFollowups();
  }

  async function loadCases() {
    let cases;
    try {
      ({ cases } = await hallq.api("GET", "/api/cases"));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    cases.sort((a, b) => Number(b.overdue) - Number(a.overdue));
    $("cases-empty").hidden = cases.length > 0;
    const steps = hallq.words.case_steps;
    table($("cases"), ["号码", "事项", "类型", "窗口", "工作人员", "受理时间", "期限", "操作"],
      cases.map((c) => [c.number, c.service_name, c.type_name, c.window_name, c.clerk.name, when(c.recorded_at),
        c.deadline ? deadline({ ...c, closed: false }, c.deadline) : "—",
        c.next_step ? h("button", { class: "btn", type: "button", dataset: { case: c.id },
          onclick: () => markStep(c) }, steps[c.next_step]) : "—"]));
  }

  async function markStep(item) {
    try {
      await hallq.api("POST", `/api/cases/${item.id}/step`, { step: item.next_step });
      hallq.toast(`${item.number} ${hallq.words.case_steps[item.next_step]}`, "ok", 3000);
    } catch (err) {
      hallq.toast(err.message);
    }
    loadCases();
  }

  function start() {
    for (const button of document.querySelectorAll("#followup-filter [data-status]")) {
      button.addEventListener("click", () => {
        state.status = button.dataset.status;
        for (const other of document.querySelectorAll("#followup-filter [data-status]")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        loadFollowups();
      });
    }
    $("close-form").addEventListener("submit", closeFollowup);
    $("close-dialog").querySelector("[data-close]").addEventListener("click", () => $("close-dialog").close());
    loadFollowups();
    loadCases();
    setInterval(() => { loadFollowups(); loadCases(); }, 60_000);  // overdue flags change with the date
  }

  hallqAdmin.ready(start);
})();
