/* The caller's 五件制 part: F9 办结 with another case type than 即办件 (F5 stays one keystroke for that), the 承诺件's
 * date from the item's 承诺时限 (a later one with its reason), the printable notice after 办结, the strip of what is
 * left to do (overdue stages in red), and the 我的办件 dialog: each open case's time points (受理、审核、决定、送达;
 * 补齐; 上报、批复到达) with a button for the next one, extensions, and 复核 of a 退回件. */
(() => {
  "use strict";
  const { h } = hallq;
  const $ = (id) => document.getElementById(id);
  const TYPES = ["promised", "supplement", "returned", "approval"];
  const state = { options: null, type: null, finish: null, ticket: null, limit: null };
  const steps = hallq.words.case_steps;
  const day = (iso) => `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;

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
    const limit = opts.promised[current.service]
      || { working_days: opts.promised_working_days, immediate: false, due: opts.promised_due };
    state.limit = limit.due;
    $("case-promised-due").value = limit.due;
    $("case-promised-due").min = opts.today;
    $("case-promised-hint").textContent = limit.immediate
      ? `本事项为即办事项，承诺时限为当天（${day(limit.due)}）；晚于当天须写明延期理由`
      : `本事项承诺时限 ${limit.working_days} 个工作日，即 ${day(limit.due)}（已按节假日和调休计算）；晚于此日期须写明延期理由`;
    $("case-extension-reason").value = "";
    extensionField();
    $("case-approval-hint").textContent = `上报时限：${day(opts.approval_due)}前（${opts.approval_working_days} 个工作日）；`
      + `收到上级批复后 ${opts.answer_working_days} 个工作日内答复服务对象`;
    checks($("case-materials"), opts.materials[current.service] || [], "material", "checkbox");
    checks($("case-reasons"), opts.return_reasons, "return-reason", "radio");
    $("case-more").value = "";
    $("case-reason-text").value = "";
    pick("promised");
    $("case-dialog").showModal();
    $("case-types").firstChild.focus();
  }

  /** The extension reason is asked for when the date is later than the item's 承诺时限 (3.4.2.2). */
  function extensionField() {
    $("case-extension").hidden = !($("case-promised-due").value > state.limit);
  }

  function body() {
    const type = state.type;
    if (type === "promised") {
      const due = $("case-promised-due").value;
      const reason = $("case-extension-reason").value.trim();
      return due > state.limit ? { case: type, due, extension_reason: reason } : { case: type, due };
    }
    if (type === "approval") return { case: type };
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
    const missing = (data.due === "" && "请选择日期") || (data.extension_reason === "" && "请写明延期理由") || (data.materials?.length === 0 && "请勾选或填写需要补正的材料")
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

  /** The stage a case is late for, in words; "" when none. */
  function lateness(c) {
    if (!c.overdue) return "";
    const stage = (c.forward_overdue && steps.forwarded) || (c.answer_overdue && "答复")
      || (c.review_overdue && steps.reviewed) || steps.delivered;
    return `${stage}超期 ${-c.working_days_left} 个工作日`;
  }

  async function refresh() {
    let cases;
    try {
      ({ cases } = await hallq.api("GET", "/api/cases"));
    } catch {
      return;  // the strip is a reminder: the next refresh tries again
    }
    state.cases = cases;
    const overdue = cases.filter((c) => c.overdue);
    const count = (type) => cases.filter((c) => c.type === type && c.open).length;
    const strip = $("case-alerts");
    strip.hidden = cases.length === 0;
    strip.replaceChildren(h("span", { class: "case-alerts-title" },
      `待办：承诺件 ${count("promised")} 件、补办件 ${count("supplement")} 件、报批件 ${count("approval")} 件`
      + (overdue.length ? `，超期 ${overdue.length} 件` : "")),
    ...overdue.slice(0, 3).map((c) => h("span", { class: "case-overdue" },
      `${c.number} ${c.service_name} ${c.type_name} ${lateness(c)}`)),
    h("button", { class: "btn", type: "button", id: "open-cases-strip", onclick: openList }, "处理"));
    if ($("cases-dialog").open) render();
  }

  // ------------------------------------------------------------------ 我的办件: the time points, one by one

  /** The dialog of the cases left to do, and the recent 退回件 whose resident may ask for 复核. */
  async function openList() {
    await refresh();
    const from = hallq.addDays(hallq.today(), -31);
    try {
      const { cases } = await hallq.api("GET", `/api/cases/period?from=${from}&to=${hallq.today()}`);
      state.returned = cases.filter((c) => c.type === "returned" && !c.review_requested_at);
    } catch (err) {
      hallq.toast(err.message);
      state.returned = [];
    }
    render();
    if (!$("cases-dialog").open) $("cases-dialog").showModal();
    ($("cases-list").querySelector("button") || $("cases-dialog").querySelector("[data-close]")).focus();
  }

  function when(at) {
    return at ? `${hallq.dayOf(at).slice(5)} ${hallq.time(at)}` : "";
  }

  function stepList(c) {
    const review = c.review_requested_at ? [{ step: "review_requested", at: c.review_requested_at, by: "" },
      { step: "reviewed", at: c.reviewed_at, by: c.reviewed_by }] : [];
    return h("ol", { class: "case-steps" }, [...c.steps, ...review].map((s) => h("li", {
      class: s.at ? "case-step done" : "case-step", dataset: { step: s.step },
    }, h("span", { class: "case-step-name" }, steps[s.step]),
    h("span", { class: "case-step-at" }, s.at ? `${when(s.at)} ${s.by}` : "—"))));
  }

  function deadlines(c) {
    const parts = [];
    if (c.due) parts.push(`承诺办结 ${day(c.due)}` + (c.extensions ? `（延期 ${c.extensions} 次：${c.extension_reason}）` : ""));
    const marked = Object.fromEntries(c.steps.map((s) => [s.step, s.at]));
    if (c.forward_due && !marked.forwarded) parts.push(`${steps.forwarded}期限 ${day(c.forward_due)}`);
    if (c.answer_due) parts.push(`答复期限 ${day(c.answer_due)}`);
    if (c.review_due) parts.push(`${steps.reviewed}期限 ${day(c.review_due)}`);
    return parts.join("；");
  }

  function caseCard(c) {
    const late = lateness(c);
    const card = h("article", { class: c.overdue ? "case-card late" : "case-card", dataset: { case: c.id } },
      h("header", {}, h("strong", {}, `${c.number} ${c.service_name}`), h("span", {}, c.type_name),
        h("span", { class: "case-due" }, deadlines(c)), late ? h("span", { class: "case-late" }, late) : null),
      stepList(c));
    const tools = h("div", { class: "case-tools" });
    if (c.next_step) {
      tools.append(h("button", { class: "btn btn-primary case-next", type: "button", dataset: { step: c.next_step },
        onclick: () => act(c, "step", { step: c.next_step }, `${c.number} 已标记${steps[c.next_step]}`) },
      `标记${steps[c.next_step]}`));
    }
    if (c.open && c.due) {
      const due = h("input", { type: "date", class: "case-extend-due", min: c.due, "aria-label": "延期至" });
      const reason = h("input", { type: "text", class: "case-extend-reason", maxlength: "150",
        placeholder: "延期理由", "aria-label": "延期理由" });
      tools.append(h("label", { class: "case-extend" }, "延期至", due), reason, h("button", {
        class: "btn case-extend-button", type: "button",
        onclick: () => act(c, "extend", { due: due.value, reason: reason.value.trim() }, `${c.number} 已延期`),
      }, "延期"));
    }
    if (c.review_requested_at && !c.reviewed_at) {
      const name = `review-${c.id}`;
      const text = h("input", { type: "text", class: "case-review-text", maxlength: "150",
        placeholder: "复核意见", "aria-label": "复核意见" });
      tools.append(...Object.entries(hallq.words.review_results).map(([code, label], k) => h("label",
        { class: "case-check" }, h("input", { type: "radio", name, value: code, checked: k === 0 }), label)),
      text, h("button", { class: "btn btn-primary case-review-button", type: "button", onclick: () => act(c,
        "review", { result: card.querySelector(`input[name=${name}]:checked`).value, text: text.value.trim() },
        `${c.number} ${steps.reviewed}已记录`) }, steps.reviewed));
    }
    card.append(tools);
    return card;
  }

  function render() {
    $("cases-empty").hidden = state.cases.length > 0;
    $("cases-list").replaceChildren(...state.cases.map(caseCard));
    $("cases-returned-title").hidden = !state.returned?.length;
    $("cases-returned").replaceChildren(...(state.returned || []).map((c) => h("li", { dataset: { case: c.id } },
      `${c.number} ${c.service_name} ${when(c.recorded_at)} ${c.reason || ""}`,
      h("button", { class: "btn case-review-request", type: "button", onclick: () => act(c, "review-request",
        undefined, `${c.number} ${steps.review_requested}已登记`) }, steps.review_requested))));
  }

  /** One action on a case; the lists again afterwards (the focus goes back to the case's card). */
  async function act(c, path, data, done) {
    try {
      await hallq.api("POST", `/api/cases/${c.id}/${path}`, data);
      hallq.toast(done, "ok", 3000);
      if (path === "review-request") state.returned = state.returned.filter((r) => r.id !== c.id);
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    await refresh();
    render();
    const card = $("cases-list").querySelector(`[data-case="${c.id}"] button`);
    (card || $("cases-dialog").querySelector("[data-close]")).focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("case-form").addEventListener("submit", submit);
    $("case-promised-due").addEventListener("input", extensionField);
    $("case-extension-reason").addEventListener("input", () => { $("case-error").textContent = ""; });
    $("case-dialog").addEventListener("keydown", (event) => {
      const k = Number(event.key);
      if (k >= 1 && k <= TYPES.length && !["INPUT", "TEXTAREA"].includes(event.target.tagName)) {
        event.preventDefault();
        pick(TYPES[k - 1]);
      }
    });
  });
  setInterval(() => { if (!$("operate").hidden) refresh(); }, 5 * 60_000);  // overdue flags change with the date

  window.callerCases = { choose, finished, refresh, openList };
})();
