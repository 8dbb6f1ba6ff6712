/* The guide desk (导询台): register appointments while reading out the item's 一次性告知, the day's list and its
 * 登记表, desk tickets (绿色通道), check-ins and lookups at the desk, home and holiday visits, the duty log and the
 * enquiry register, the complaint register (投诉登记). Alt+1 … Alt+7 switch tabs. Lists reload by themselves on the
 * server's `guide` events. */
(() => {
  "use strict";
  const { h, dayText } = hallq;
  const $ = (id) => document.getElementById(id);
  const TABS = ["book", "day", "tickets", "visits", "duty", "enquiries", "complaints"];
  const DESK_ROLES = ["guide", "admin"];
  const TICKET_STATUS = hallq.words.ticket_status;
  const COMPLAINT_STATUS = hallq.words.complaint_status;
  const RELOAD_MS = 250;  // a burst of desk events becomes one reload

  const state = { user: null, setup: null, tab: "book", slot: null, day: [], socket: null, reloadTimer: null,
    closing: null, busy: false, windows: [], complaintSetup: null };

  function show(view) {
    for (const id of ["loading", "login", "desk"]) $(id).hidden = id !== view;
  }

  const when = (a) => `${dayText(a.date)} ${a.slot}${a.slot_end ? `-${a.slot_end}` : ""}`;
  const service = (code) => state.setup.services.find((s) => s.code === code);
  /** A cell of a short word (来电, 导询员, a time, a phone number): never wrapped inside it. */
  const short = (text) => h("td", { class: "nowrap" }, text);
  const chosen = (name) => document.querySelector(`input[name="${name}"]:checked`)?.value;

  // ------------------------------------------------------------------ session

  async function checkSession() {
    try {
      const { user } = await hallq.api("GET", "/api/auth/me");
      if (!DESK_ROLES.includes(user.role)) {
        await hallq.api("POST", "/api/auth/logout");
        showLogin("该账号没有导询台权限（需要导询员或管理员账号）");
        return;
      }
      await enter(user);
    } catch (err) {
      if (err.status === 401) showLogin();
      else {
        hallq.toast(err.message);
        setTimeout(checkSession, 5000);
      }
    }
  }

  function showLogin(message = "") {
    state.socket?.disconnect();
    state.socket = null;
    $("login-error").textContent = message;
    show("login");
    $("username").focus();
  }

  async function login(event) {
    event.preventDefault();
    if (await hallq.login(DESK_ROLES, "该账号没有导询台权限（需要导询员或管理员账号）")) await checkSession();
  }

  async function enter(user) {
    state.user = user;
    state.setup = await hallq.api("GET", "/api/appointments/setup");
    state.complaintSetup = await hallq.api("GET", "/api/complaints/setup");
    $("desk-user").textContent = `${user.name}（${user.username}）`;
    fillForms(state.setup);
    fillComplaintForm(state.complaintSetup);
    state.socket = hallq.connect({
      snapshot: (snapshot) => {
        $("hall-name").textContent = `${snapshot.hall.name} · 导询台`;
        state.windows = snapshot.windows;
      },
      printers: hallq.printerAlerts($("printer-alerts")),
      guide: reloadSoon,
      unauthorized: () => showLogin("登录已过期，请重新登录"),
    });
    show("desk");
    openTab(state.tab);
  }

  async function logout() {
    try {
      await hallq.api("POST", "/api/auth/logout");
    } catch (err) {
      hallq.toast(err.message);
    }
    showLogin("已退出登录");
  }

  /** An API call from a button: the error in a toast, 401 back to the login. Resolves to the answer or null. */
  async function call(method, path, body) {
    try {
      return await hallq.api(method, path, body);
    } catch (err) {
      if (err.status === 401) showLogin("登录已过期，请重新登录");
      else hallq.toast(err.message);
      return null;
    }
  }

  // ------------------------------------------------------------------ tabs

  function openTab(name) {
    state.tab = name;
    for (const tab of TABS) $(`tab-${tab}`).hidden = tab !== name;
    for (const button of document.querySelectorAll(".desk-tab")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === name));
    }
    reload();
  }

  function reload() {
    const loaders = { book: loadSlots, day: loadDay, visits: loadVisits, duty: loadDuty, enquiries: loadEnquiries,
      complaints: loadComplaints };
    loaders[state.tab]?.();
  }

  function reloadSoon() {
    clearTimeout(state.reloadTimer);
    state.reloadTimer = setTimeout(reload, RELOAD_MS);
  }

  // ------------------------------------------------------------------ the forms' choices, from the server

  function radios(container, name, options, checked) {
    container.querySelectorAll("label").forEach((label) => label.remove());
    for (const option of options) {
      container.append(h("label", { class: "choice-item" },
        h("input", { type: "radio", name, value: option.code, checked: option.code === checked }), option.name));
    }
  }

  function fillForms(setup) {
    radios($("book-channel"), "channel", setup.channels.filter((c) => c.code !== "online"), "phone");
    radios($("book-kind"), "kind", setup.kinds.map((k) => ({ ...k, name: { window: "窗口办理", home: "上门服务",
      holiday: "节假日办理" }[k.code] || k.name })), "window");
    radios($("enquiry-channel"), "enquiry-channel", setup.enquiry_channels, "phone");
    const categories = new Map();
    for (const s of setup.services) {
      if (!categories.has(s.category)) categories.set(s.category, []);
      categories.get(s.category).push(s);
    }
    const options = () => [...categories].map(([category, services]) => h("optgroup", { label: category },
      ...services.map((s) => h("option", { value: s.code }, s.name))));
    $("book-service").replaceChildren(...options());
    $("issue-service").replaceChildren(...options());
    $("book-assignee").replaceChildren(h("option", { value: "" }, "请选择"),
      ...setup.staff.map((s) => h("option", { value: s.username }, `${s.name}（${s.username}）`)));
    $("duty-kind").replaceChildren(...setup.duty_kinds.map((k) => h("option", { value: k.code }, k.name)));
    Object.assign($("book-date"), { min: setup.today, value: setup.today,
      max: hallq.addDays(setup.today, setup.days_ahead) });
    $("day-date").value = setup.today;
    $("guide-rules").textContent = `请告知群众：预约码；请在预约时段开始前 ${setup.check_in_before_minutes} 分钟到开始后 `
      + `${setup.forfeit_after_minutes} 分钟之间，到取号机点「我有预约」，输入预约码或手机号签到取号；超过 `
      + `${setup.forfeit_after_minutes} 分钟未签到视为放弃预约。`;
    onKindChange();
  }

  // ------------------------------------------------------------------ 预约登记

  function onKindChange() {
    const visit = chosen("kind") !== "window";
    $("book-slots-field").hidden = visit;
    $("book-time-field").hidden = !visit;
    $("book-assignee-field").hidden = !visit;
    showGuide();
    loadSlots();
  }

  /** 一次性告知: everything about the item, read to the resident while booking (seed 4.2). */
  function showGuide() {
    const item = service($("book-service").value);
    if (!item) return;
    $("guide-service").textContent = `「${item.name}」（${item.category}）`;
    for (const [id, key] of [["guide-materials", "materials"], ["guide-steps", "steps"],
      ["guide-time-limit", "time_limit"], ["guide-fees", "fees"]]) {
      $(id).textContent = item.guide[key] || "（办事指南未填写，请向窗口确认）";
    }
  }

  async function loadSlots() {
    if (chosen("kind") !== "window" || !$("book-date").value) return;
    const answer = await call("GET", `/api/appointments/slots?date=${$("book-date").value}`
      + `&service=${encodeURIComponent($("book-service").value)}`);
    if (!answer) return;
    if (!answer.slots.some((s) => s.start === state.slot && s.left > 0 && !s.started)) state.slot = null;
    $("book-slots").replaceChildren(...answer.slots.map((s) => {
      const full = s.left === 0 || s.started;
      return h("button", { type: "button", role: "radio", class: `slot${s.start === state.slot ? " is-chosen" : ""}`,
        "aria-checked": String(s.start === state.slot), disabled: full, dataset: { slot: s.start },
        onclick: () => { state.slot = s.start; loadSlots(); } },
      h("span", { class: "slot-time" }, `${s.start}-${s.end}`),
      h("span", { class: "slot-left" }, s.started ? "已开始" : full ? "已约满" : `余 ${s.left} 个`));
    }));
    $("book-slots-note").textContent = answer.message;
  }

  async function book(event) {
    event.preventDefault();
    if (state.busy) return;
    clearBooked();
    const kind = chosen("kind");
    const slot = kind === "window" ? state.slot : $("book-time").value;
    if (!slot) {
      $("book-error").textContent = kind === "window" ? "请选择时段" : "请填写约定时间";
      return;
    }
    const body = { service: $("book-service").value, date: $("book-date").value, slot, kind,
      channel: chosen("channel"), name: $("book-name").value.trim(), phone: $("book-phone").value.trim(),
      id_last6: $("book-id").value.trim() || null, notes: $("book-notes").value.trim(),
      assigned_to: kind === "window" ? null : $("book-assignee").value || null };
    state.busy = true;
    $("book-submit").disabled = true;
    $("book-error").textContent = "";
    try {
      const { appointment } = await hallq.api("POST", "/api/appointments", body);
      showBooked(appointment);
      empty(["book-name", "book-phone", "book-id", "book-notes"]);
      state.slot = null;
      loadSlots();
    } catch (err) {
      if (err.status === 401) showLogin("登录已过期，请重新登录");
      else $("book-error").textContent = err.message;
    } finally {
      state.busy = false;
      $("book-submit").disabled = false;
    }
  }

  /** The last resident's card and 预约码 go as a new attempt starts: the desk must not read them to the next caller. */
  function clearBooked() {
    $("book-result").replaceChildren();
    $("book-result").hidden = true;
  }

  function showBooked(a) {
    const visit = a.kind !== "window";
    const next = visit ? `负责人员：${a.assigned_name || a.assigned_to}，请按约定时间联系群众`
      : `请在 ${hallq.time(a.check_in_from)}–${hallq.time(a.forfeit_at)} 到取号机「我有预约」签到取号`;
    $("book-result").replaceChildren(
      h("p", { class: "book-result-title" }, "预约登记成功，请告知群众："),
      h("p", { class: "book-result-code" }, h("span", {}, "预约码"), h("strong", { id: "booked-code" }, a.code)),
      h("p", {}, `${a.name} · ${when(a)} · ${a.service_name}（${a.kind_text}）`),
      h("p", {}, next));
    $("book-result").hidden = false;
  }

  // ------------------------------------------------------------------ 预约名单

  async function loadDay() {
    const date = $("day-date").value || state.setup.today;
    $("day-print").href = `/guide/register?date=${date}`;
    $("day-xlsx").href = `/api/appointments/register.xlsx?date=${date}`;
    const answer = await call("GET", `/api/appointments?date=${date}`);
    if (!answer) return;
    state.day = answer.appointments;
    renderDay();
  }

  function renderDay() {
    const needle = $("day-filter").value.trim();
    const rows = state.day.filter((a) => !needle || [a.name, a.phone, a.code].some((v) => v.includes(needle)));
    $("day-count").textContent = `共 ${state.day.length} 条${needle ? `，显示 ${rows.length} 条` : ""}`;
    $("day-empty").hidden = rows.length > 0;
    $("day-rows").replaceChildren(...rows.map((a) => h("tr", { dataset: { appointment: a.id } },
      short(`${a.slot}${a.slot_end ? `-${a.slot_end}` : ""}`), short(a.name), short(a.phone),
      h("td", {}, a.service_name), short(a.kind_text), short(a.channel_text),
      h("td", { class: "num" }, a.code),
      h("td", {}, h("span", { class: "chip", dataset: { status: a.status } },
        a.ticket ? `${a.status_text} ${a.ticket.number}` : a.status_text)),
      h("td", { class: "row-actions" }, ...dayActions(a)))));
  }

  function dayActions(a) {
    if (a.status !== "booked") return [];
    const actions = [];
    if (a.kind === "window" && a.date === state.setup.today) {
      actions.push(h("button", { class: "btn btn-small btn-primary", type: "button",
        onclick: () => checkIn(a.code) }, "签到取号"));
    }
    actions.push(h("button", { class: "btn btn-small", type: "button", onclick: () => openClose(a, "cancel") }, "取消"),
      h("button", { class: "btn btn-small btn-danger", type: "button", onclick: () => openClose(a, "reject") },
        "不予预约"));
    return actions;
  }

  // ------------------------------------------------------------------ cancel, reject, a visit's outcome: one dialog

  const CLOSING = {
    cancel: { title: "取消预约", reasons: false, path: "cancel", body: (reason, note) => ({ reason: note || null }) },
    reject: { title: "不予预约（须向群众说明理由）", reasons: true, path: "reject",
      body: (reason, note) => ({ reason: [reason, note].filter(Boolean).join("；") }) },
    done: { title: "标记为已办理", reasons: false, path: "outcome", body: (reason, note) => ({ done: true, note }) },
    not_done: { title: "标记为未办理（请说明原因）", reasons: false, path: "outcome",
      body: (reason, note) => ({ done: false, note }) },
  };

  function openClose(appointment, how) {
    const spec = CLOSING[how];
    state.closing = { appointment, spec };
    $("close-title").textContent = spec.title;
    $("close-who").textContent = `${appointment.name} · ${when(appointment)} · ${appointment.service_name}`;
    $("close-reason-field").hidden = !spec.reasons;
    $("close-reason").replaceChildren(...state.setup.reject_reasons.map((r) => h("option", { value: r }, r)),
      h("option", { value: "" }, "其他（在说明中写明）"));
    $("close-note").value = "";
    $("close-error").textContent = "";
    $("close-dialog").showModal();
  }

  async function submitClose(event) {
    event.preventDefault();
    const { appointment, spec } = state.closing;
    try {
      await hallq.api("POST", `/api/appointments/${appointment.id}/${spec.path}`,
        spec.body($("close-reason").value, $("close-note").value.trim()));
      $("close-dialog").close();
      hallq.toast(`已${spec.title.replace(/（.*）/, "")}：${appointment.name}`, "ok", 3000);
      reload();
    } catch (err) {
      $("close-error").textContent = err.message;
    }
  }

  // ------------------------------------------------------------------ 代取号, 签到, 查询, 补打

  async function checkIn(code) {
    const answer = await call("POST", "/api/appointments/check-in", { code });
    if (answer) {
      showTicket(answer.ticket, answer.print, `预约签到：${answer.appointment.name}`);
      reload();
    }
    return answer;
  }

  async function issueDesk(priority) {
    const answer = await call("POST", "/api/tickets", { service: $("issue-service").value, priority: priority || null });
    if (answer) showTicket(answer.ticket, answer.print, priority ? "绿色通道" : "代取号");
  }

  async function lookup(event) {
    event.preventDefault();
    const answer = await call("GET", `/api/tickets?number=${encodeURIComponent($("lookup-number").value.trim())}`);
    if (answer) showTicket(answer.ticket, null, "查询结果");
  }

  function showTicket(ticket, plan, title) {
    const at = state.windows.find((w) => w.id === ticket.window);
    const where = at ? `，${at.name}` : "";
    const tags = [ticket.appointment ? "预约" : null, ticket.priority ? "绿色通道" : null].filter(Boolean);
    $("ticket-result").replaceChildren(
      h("p", { class: "ticket-result-title" }, title),
      h("p", { class: "ticket-result-number" }, ticket.number, ...tags.map((t) => h("span", { class: "chip" }, t))),
      h("p", {}, `${ticket.service_name} · ${TICKET_STATUS[ticket.status] || ticket.status}${where}`
        + (ticket.status === "waiting" ? ` · 前面还有 ${ticket.waiting_ahead} 人` : "")),
      ...(plan ? [h("p", { class: "field-note" },
        plan.status === "queued" ? `正在打印（${plan.printer}）` : plan.message)] : []),
      state.setup.desk_printer
        ? h("button", { class: "btn", type: "button", onclick: () => reprint(ticket) }, "补打号票")
        : h("p", { class: "field-note", id: "no-reprint" },
          `导询台没有号票打印机，不能补打：请把号码「${ticket.number}」${where ? `和${at.name}` : ""}写在纸上交给群众`));
    $("ticket-result").hidden = false;
    if (state.tab !== "tickets") openTab("tickets");
  }

  async function reprint(ticket) {
    const answer = await call("POST", `/api/tickets/${ticket.id}/reprint`);
    if (answer) hallq.toast(`${ticket.number} 正在补打（${answer.print.printer}）`, "ok", 3000);
  }

  // ------------------------------------------------------------------ 上门·节假日

  async function loadVisits() {
    const answer = await call("GET", "/api/appointments/assigned?all=1");
    if (!answer) return;
    $("visit-empty").hidden = answer.appointments.length > 0;
    $("visit-rows").replaceChildren(...answer.appointments.map((a) => h("tr", { dataset: { appointment: a.id } },
      short(dayText(a.date)), short(a.slot), short(a.kind_text), short(a.name),
      short(a.phone), h("td", {}, a.service_name), short(a.assigned_name || a.assigned_to || ""),
      h("td", {}, h("span", { class: "chip", dataset: { status: a.status } }, a.status_text),
        a.reason ? h("div", { class: "field-note" }, a.reason) : null),
      h("td", { class: "row-actions" }, ...(a.status === "booked" ? [
        h("button", { class: "btn btn-small btn-primary", type: "button", onclick: () => openClose(a, "done") },
          "已办理"),
        h("button", { class: "btn btn-small", type: "button", onclick: () => openClose(a, "not_done") }, "未办理"),
        h("button", { class: "btn btn-small btn-danger", type: "button", onclick: () => openClose(a, "cancel") },
          "取消")] : [])))));
  }

  // ------------------------------------------------------------------ 值班记录 and 来电来访

  async function loadDuty() {
    const answer = await call("GET", "/api/duty-log");
    if (!answer) return;
    $("duty-empty").hidden = answer.entries.length > 0;
    $("duty-list").replaceChildren(...answer.entries.map((e) => h("li", { dataset: { kind: e.kind } },
      h("span", { class: "log-time" }, hallq.time(e.at)), h("span", { class: "chip" }, e.kind_text),
      h("span", { class: "log-text" }, e.text), h("span", { class: "log-author" }, e.author_name))));
  }

  async function loadEnquiries() {
    const answer = await call("GET", "/api/enquiries");
    if (!answer) return;
    $("enquiry-empty").hidden = answer.entries.length > 0;
    $("enquiry-rows").replaceChildren(...answer.entries.map((e) => h("tr", {},
      short(hallq.time(e.at)), short(e.channel_text), short(e.who), short(e.contact),
      h("td", {}, e.subject), h("td", {}, e.answer), h("td", {}, e.referred_to), short(e.author_name))));
  }

  // ------------------------------------------------------------------ 投诉登记

  function fillComplaintForm(setup) {
    radios($("complaint-channel"), "complaint-channel", setup.channels, "visit");
    const none = (text) => h("option", { value: "" }, text);
    const person = (s) => h("option", { value: s.username }, `${s.name}（${s.username}）`);
    $("complaint-window").replaceChildren(none("不确定"),
      ...setup.windows.map((w) => h("option", { value: w.id }, w.name)));
    $("complaint-clerk").replaceChildren(none("不确定"), ...setup.staff.map(person));
    $("complaint-handler").replaceChildren(none("待定（由管理员指定）"),
      ...setup.staff.filter((s) => s.role !== "clerk").map(person));
    $("complaint-due").textContent = `今天登记的投诉，须在 ${setup.due_today} 前（${setup.answer_working_days} 个工作日内）`
      + "将调查处理结果答复投诉人。";
  }

  /** "还剩 2 个工作日" / "超期 1 个工作日" of an unanswered complaint; "已答复" once answered. */
  function complaintDeadline(c) {
    if (c.answered_at) return h("span", {}, `${c.due}（已答复）`);
    const text = hallq.workingDaysLeft(c.working_days_left);
    return h("span", { class: c.overdue ? "is-overdue" : "" }, `${c.due} · ${text}`);
  }

  async function loadComplaints() {
    const answer = await call("GET", "/api/complaints?status=open");
    if (!answer) return;
    $("complaint-empty").hidden = answer.complaints.length > 0;
    $("complaint-rows").replaceChildren(...answer.complaints.map((c) => h("tr", { dataset: { complaint: c.id } },
      short(`${dayText(c.date)} ${hallq.time(c.received_at)}`), short(c.channel_text),
      h("td", {}, [c.window_name, c.clerk?.name].filter(Boolean).join(" · ") || "—"),
      short(c.name || "—"), h("td", {}, c.contact || "—"), h("td", {}, c.request),
      h("td", {}, c.handler?.name || "待定"), h("td", {}, complaintDeadline(c)),
      h("td", { class: "nowrap" }, h("span", { class: "chip", dataset: { status: c.overdue ? "overdue" : "open" } },
        c.overdue ? COMPLAINT_STATUS.overdue : COMPLAINT_STATUS.open)))));
  }

  /** A form that posts to ``path``; on success it is cleared and its list reloads. */
  function postForm(form, error, path, body, clear) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      $(error).textContent = "";
      try {
        await hallq.api("POST", path, body());
        empty(clear);
        reload();
      } catch (err) {
        if (err.status === 401) showLogin("登录已过期，请重新登录");
        else $(error).textContent = err.message;
      }
    });
  }

  // ------------------------------------------------------------------ lengths: said, never cut

  const COUNT_FROM = 0.75;  // the count shows once three quarters of the limit are used

  /** A text field's limit (its maxlength, from 32 up: names, contacts, notes) is said instead of enforced by
   * cutting: a pasted long name kept its first 32 characters without a word. Past the limit the field says by how
   * much and the form will not submit; the server refuses the same with its own message. */
  function sayLength(field) {
    const longest = field.maxLength;
    field.removeAttribute("maxlength");
    const count = h("span", { class: "field-count", "aria-live": "polite", id: `${field.id}-count` });
    field.setAttribute("aria-describedby", count.id);
    field.after(count);
    const update = () => {
      const used = [...field.value].length;
      const over = used > longest;
      const message = over ? `最多 ${longest} 字，现在 ${used} 字，请删减` : "";
      count.textContent = over ? message : used >= longest * COUNT_FROM ? `${used}/${longest} 字` : "";
      count.classList.toggle("is-over", over);
      field.setCustomValidity(message);
      field.setAttribute("aria-invalid", String(over));
    };
    field.addEventListener("input", update);
  }

  /** Fields emptied after a successful entry, their counts with them. */
  function empty(ids) {
    for (const id of ids) {
      $(id).value = "";
      $(id).dispatchEvent(new Event("input"));
    }
  }

  // ------------------------------------------------------------------ wiring

  function onKey(event) {
    const n = Number(event.key);
    if (!event.altKey || !Number.isInteger(n) || n < 1 || n > TABS.length || $("desk").hidden) return;
    event.preventDefault();
    openTab(TABS[n - 1]);
  }

  function start() {
    hallq.clock($("clock"), null, true);
    for (const field of $("desk").querySelectorAll("input[maxlength], textarea[maxlength]")) {
      if (field.maxLength >= 32) sayLength(field);
    }
    $("login").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    for (const tab of document.querySelectorAll(".desk-tab")) tab.addEventListener("click", () => openTab(tab.dataset.tab));
    $("book-form").addEventListener("submit", book);
    $("book-kind").addEventListener("change", onKindChange);
    $("book-service").addEventListener("change", () => { showGuide(); loadSlots(); });
    $("book-date").addEventListener("change", loadSlots);
    $("day-date").addEventListener("change", loadDay);
    $("day-filter").addEventListener("input", renderDay);
    for (const button of $("issue-buttons").querySelectorAll("button")) {
      button.addEventListener("click", () => issueDesk(button.dataset.priority));
    }
    $("checkin-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await checkIn($("checkin-code").value.trim())) $("checkin-code").value = "";
    });
    $("lookup-form").addEventListener("submit", lookup);
    $("close-form").addEventListener("submit", submitClose);
    document.querySelector("#close-dialog [data-close]").addEventListener("click", () => $("close-dialog").close());
    postForm($("duty-form"), "duty-error", "/api/duty-log",
      () => ({ kind: $("duty-kind").value, text: $("duty-text").value, at: $("duty-at").value || null }),
      ["duty-text", "duty-at"]);
    postForm($("enquiry-form"), "enquiry-error", "/api/enquiries", () => ({ channel: chosen("enquiry-channel"),
      who: $("enquiry-who").value, contact: $("enquiry-contact").value, subject: $("enquiry-subject").value,
      answer: $("enquiry-answer").value, referred_to: $("enquiry-referred").value }),
    ["enquiry-who", "enquiry-contact", "enquiry-subject", "enquiry-answer", "enquiry-referred"]);
    postForm($("complaint-form"), "complaint-error", "/api/complaints", () => ({
      channel: chosen("complaint-channel"), window: Number($("complaint-window").value) || null,
      clerk: $("complaint-clerk").value || null, name: $("complaint-name").value, contact: $("complaint-contact").value,
      handler: $("complaint-handler").value || null, request: $("complaint-request").value }),
    ["complaint-name", "complaint-contact", "complaint-request", "complaint-window", "complaint-clerk"]);
    document.addEventListener("keydown", onKey);
    checkSession();
  }

  start();
})();
