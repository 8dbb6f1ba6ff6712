/* /admin/complaints: the complaint register (投诉, 机构建设 4.3). The admin picks who handles a complaint, records
 * the answer told to the resident and whether it was upheld (投诉属实), then whether the resident accepted it, and
 * closes it. Unanswered complaints past their due date are red. New ones are registered at the guide desk. */
(() => {
  "use strict";
  const { h } = hallq;
  const { table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);
  const STATUS = hallq.words.complaint_status;
  const state = { status: "open", current: null, staff: [] };

  const when = (iso) => (iso ? `${hallq.dayOf(iso).slice(5)} ${hallq.time(iso)}` : "—");
  const yesNo = (value, yes, no) => (value === null || value === undefined ? "—" : value ? yes : no);
  const what = (c) => `第 ${c.id} 号投诉 · ${c.channel_text} · ${[c.window_name, c.clerk?.name].filter(Boolean).join(" · ")
    || "未指明窗口"}：${c.request}`;

  function deadline(c) {
    if (c.answered_at) {
      return h("span", { class: c.answered_on_time ? "" : "is-overdue" },
        `${c.due} · ${c.answered_on_time ? "按期答复" : "超期答复"}`);
    }
    const text = hallq.workingDaysLeft(c.working_days_left);
    return h("span", { class: c.overdue ? "is-overdue" : "" }, `${c.due} · ${text}`);
  }

  function actions(c) {
    if (!c.open) return `已办结 ${when(c.closed_at)}`;
    const button = (label, primary, onclick) => h("button", { class: `btn${primary ? " btn-primary" : ""}`,
      type: "button", dataset: { complaint: c.id }, onclick }, label);
    return h("div", { class: "row-actions" },
      c.answered_at ? button("办结", true, () => openDialog("finish", c))
        : button("答复", true, () => openDialog("answer", c)),
      button("承办人", false, () => openDialog("handler", c)));
  }

  async function load() {
    const month = $("complaint-month").value;
    let complaints;
    try {
      const period = month ? `&month=${month}` : "";
      ({ complaints } = await hallq.api("GET", `/api/complaints?status=${state.status}${period}`));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    $("complaints-empty").hidden = complaints.length > 0;
    table($("complaints"), ["编号", "受理时间", "方式", "被投诉窗口·人员", "投诉人", "联系方式", "投诉内容及诉求", "承办人",
      "答复期限", "答复", "属实", "接受", "操作"],
    complaints.map((c) => [String(c.id), when(c.received_at),
      c.number ? `${c.channel_text}（${c.number}）` : c.channel_text,
      [c.window_name, c.clerk?.name].filter(Boolean).join(" · ") || "—", c.name || "—", c.contact || "—", c.request,
      c.handler?.name || "待定", deadline(c), c.answer ? `${c.answer}（${c.answered_by} ${when(c.answered_at)}）` : "—",
      yesNo(c.upheld, "属实", "不属实"), yesNo(c.accepted, "接受", "不接受"), actions(c)]));
  }

  function openDialog(kind, complaint) {
    state.current = complaint;
    $(`${kind}-what`).textContent = what(complaint);
    $(`${kind}-error`).textContent = "";
    if (kind === "answer") {
      $("answer-text").value = "";
      for (const input of document.querySelectorAll('input[name="upheld"]')) input.checked = false;
    } else if (kind === "finish") {
      for (const input of document.querySelectorAll('input[name="accepted"]')) input.checked = false;
    } else {
      const concerned = complaint.clerk?.username;
      $("handler-name").replaceChildren(...state.staff.filter((s) => s.username !== concerned)
        .map((s) => h("option", { value: s.username, selected: s.username === complaint.handler?.username },
          `${s.name}（${s.username}）`)));
    }
    $(`${kind}-dialog`).showModal();
  }

  /** The dialog's form posts ``body()`` to the complaint's ``step``; the list reloads. */
  function wire(kind, step, body) {
    $(`${kind}-form`).addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = body();
      if (data === null) return;
      try {
        await hallq.api("POST", `/api/complaints/${state.current.id}/${step}`, data);
      } catch (err) {
        $(`${kind}-error`).textContent = err.message;
        return;
      }
      $(`${kind}-dialog`).close();
      hallq.toast(`第 ${state.current.id} 号投诉已更新`, "ok", 3000);
      load();
    });
    $(`${kind}-dialog`).querySelector("[data-close]").addEventListener("click", () => $(`${kind}-dialog`).close());
  }

  /** The yes/no radio ``name`` as a boolean; null (and a message) when neither is chosen. */
  function choice(name, error, message) {
    const picked = document.querySelector(`input[name="${name}"]:checked`)?.value;
    $(error).textContent = picked ? "" : message;
    return picked ? picked === "yes" : null;
  }

  async function start() {
    $("complaint-filter").replaceChildren(...Object.entries(STATUS).map(([code, label]) => h("button", {
      class: "btn", type: "button", dataset: { status: code }, "aria-pressed": String(code === state.status),
      onclick: (event) => {
        state.status = code;
        for (const other of $("complaint-filter").children) {
          other.setAttribute("aria-pressed", String(other === event.currentTarget));
        }
        load();
      } }, label)));
    $("complaint-month").addEventListener("change", load);
    wire("answer", "answer", () => {
      const upheld = choice("upheld", "answer-error", "请选择投诉是否属实");
      return upheld === null ? null : { answer: $("answer-text").value, upheld };
    });
    wire("finish", "close", () => {
      const accepted = choice("accepted", "finish-error", "请选择投诉人是否接受答复");
      return accepted === null ? null : { accepted };
    });
    wire("handler", "handler", () => ({ handler: $("handler-name").value }));
    try {
      state.staff = (await hallq.api("GET", "/api/complaints/setup")).staff;
    } catch (err) {
      hallq.toast(err.message);
    }
    load();
    setInterval(load, 60_000);  // overdue flags change with the date
  }

  hallqAdmin.ready(start);
})();
