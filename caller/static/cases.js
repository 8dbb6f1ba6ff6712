/* The caller's 五件制 part: F9 办结 with another case type than 即办件 (F5 stays one keystroke for that), the
 * printable notice after 办结 (补正通知书 listing every missing material, 退回件通知书, 承诺件受理通知书), and the strip
 * of this clerk's open 承诺件 and 报批件, overdue ones in red. */
(() => {
  "use strict";
  const { h } = hallq;
  const $ = (id) => document.getElementById(id);
  const TYPES = ["promised", "supplement", "returned", "approval"];
  const state = { options: null, type: null, finish: null, ticket: null };

  async function options() {
    state.options = await hallq.api("GET", "/api/cases/options");  // fresh: the proposed dates move with the day
    return state.options;
  }

  function pick(type) {
    state.type = type;
    for (const button of $("case-types").children) {
      button.setAttribute("aria-checked", String(button.dataset.type === type));
    }
    for (const part of document.querySelectorAll("#case-form .case-part")) part.hidden = part.dataset.type !== type;
    $("case-error").textContent = "";
  }

  function checks(container, items, name, kind) {
    container.replaceChildren(...items.map((item, k) => h("label", { class: "case-check" },
      h("input", { type: kind, name, value: item, id: `${name}-${k}` }), h("span", {}, item))));
  }

  /** The F9 dialog for the resident at the window; ``finish(body, describe)`` does the 办结. */
  async function choose(win, finish) {
    const current = win?.current;
    if (!current) return;
    let opts;
    try {
      opts = await options();
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    const names = Object.fromEntries(opts.types.map((t) => [t.code, t.name]));
    Object.assign(state, { finish, ticket: current });
    $("case-number").textContent = current.number;
    $("case-types").replaceChildren(...TYPES.map((type, k) => h("button", {
      class: "btn case-type", type: "button", role: "radio", dataset: { type }, onclick: () => pick(type),
    }, h("kbd", {}, String(k + 1)), names[type])));
    $("case-promised-due").value = opts.promised_due;
    $("case-promised-due").min = opts.today;
    $("case-approval-due").min = opts.today;
    $("case-promised-hint").textContent = `默认 ${opts.promised_working_days} 个工作日后（已按节假日和调休计算）`;
    $("case-approval-due").value = opts.approval_due;
    $("case-approval-hint").textContent = `上报时限默认 ${opts.approval_working_days} 个工作日`;
    checks($("case-materials"), opts.materials[current.service] || [], "material", "checkbox");
    checks($("case-reasons"), opts.return_reasons, "return-reason", "radio");
    $("case-more").value = "";
    $("case-reason-text").value = "";
    pick("promised");
    $("case-dialog").showModal();
    $("case-types").firstChild.focus();
  }

  function body() {
    const type = state.type;
    if (type === "promised") return { case: type, due: $("case-promised-due").value };
    if (type === "approval") return { case: type, due: $("case-approval-due").value };
    if (type === "supplement") {
      const ticked = [...document.querySelectorAll("#case-materials input:checked")].map((i) => i.value);
      const more = $("case-more").value.split("\n").map((line) => line.trim()).filter(Boolean);
      return { case: type, materials: [...ticked, ...more] };
    }
    const chosen = document.querySelector("#case-reasons input:checked")?.value;
    const text = $("case-reason-text").value.trim();
    return { case: type, reason: [chosen, text].filter(Boolean).join("：") };
  }

  function submit(event) {
    event.preventDefault();
    const data = body();
    const missing = (data.due === "" && "请选择日期") || (data.materials?.length === 0 && "请勾选或填写需要补正的材料")
      || (data.reason === "" && "请选择或填写退回原因");
    if (missing) {
      $("case-error").textContent = missing;
      return;
    }
    $("case-dialog").close();
    const name = state.options.types.find((t) => t.code === data.case).name;
    state.finish(data, (t) => [`${t.number} 已办结（${name}）`]);
  }

  /** After a 办结: the notice to print for the resident, if the case has one; the open cases again. */
  function finished(data) {
    const notice = data?.case?.notice;
    if (notice) {
      $("result").append(h("button", { class: "btn btn-accent", type: "button", id: "print-notice",
        onclick: () => window.open(notice, "_blank", "noopener") }, `打印${data.case.notice_name}`));
    }
    if (data) refresh();
    return data;
  }

  async function refresh() {
    let cases;
    try {
      ({ cases } = await hallq.api("GET", "/api/cases"));
    } catch {
      return;  // the strip is a reminder: the next refresh tries again
    }
    const overdue = cases.filter((c) => c.overdue);
    const strip = $("case-alerts");
    strip.hidden = cases.length === 0;
    strip.replaceChildren(h("span", { class: "case-alerts-title" },
      `待办：承诺件 ${cases.filter((c) => c.type === "promised").length} 件、报批件 ${cases.filter((c) => c.type === "approval").length} 件`
      + (overdue.length ? `，超期 ${overdue.length} 件` : "")),
    ...overdue.slice(0, 3).map((c) => h("span", { class: "case-overdue" },
      `${c.number} ${c.service_name} ${c.type_name} ${c.due.slice(5)} 超期 ${-c.working_days_left} 个工作日`,
      h("button", { class: "btn", type: "button", dataset: { case: c.id }, onclick: () => close(c) },
        c.type === "promised" ? "已办结" : "已收到批复"))));
  }

  async function close(item) {
    try {
      await hallq.api("POST", `/api/cases/${item.id}/close`);
      hallq.toast(`${item.number} ${item.type === "promised" ? "承诺件已办结" : "已收到上级批复"}`, "ok", 3000);
    } catch (err) {
      hallq.toast(err.message);
    }
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("case-form").addEventListener("submit", submit);
    $("case-dialog").addEventListener("keydown", (event) => {
      const k = Number(event.key);
      if (k >= 1 && k <= TYPES.length && !["INPUT", "TEXTAREA"].includes(event.target.tagName)) {
        event.preventDefault();
        pick(TYPES[k - 1]);
      }
    });
  });
  setInterval(() => { if (!$("operate").hidden) refresh(); }, 5 * 60_000);  // overdue flags change with the date

  window.callerCases = { choose, finished, refresh };
})();
