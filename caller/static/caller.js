/* The clerk's caller: log in, sign in to a window, then call and serve with buttons or F1–F8. */
(() => {
  "use strict";
  const { h } = hallq;
  const $ = (id) => document.getElementById(id);
  const { ticket_status: TICKET_STATUS, window_status: WINDOW_STATUS } = hallq.words;
  const KEYS = { F1: "call-next", F2: "recall", F3: "no-show", F4: "start", F5: "finish", F6: "transfer",
    F7: "special", F8: "toggle-pause", F9: "finish-case" };
  const ACTIVE = ["called", "serving"];

  // seat: the window the server has this clerk signed in to (from /api/auth/me and sign-in/out answers)
  const state = { view: "loading", user: null, seat: null, snapshot: null, windowId: null, window: null,
    busy: false, socket: null, verifying: false, retry: null, appointmentOf: null };

  function show(view) {
    state.view = view;
    for (const id of ["loading", "login", "pick", "operate"]) $(id).hidden = id !== view;
  }

  const isMine = (w) => Boolean(w && state.seat === w.id);
  const windowName = (id) => state.snapshot?.windows.find((w) => w.id === id)?.name || `${id}号窗口`;
  const serviceName = (code) => state.snapshot?.services.find((s) => s.code === code)?.name || code;

  // ------------------------------------------------------------------ session

  async function checkSession() {
    clearTimeout(state.retry);
    try {
      const me = await hallq.api("GET", "/api/auth/me");
      state.seat = me.window;
      loggedIn(me.user);
    } catch (err) {
      if (err.status === 401) {
        showLogin();
      } else {
        hallq.toast(err.message);
        state.retry = setTimeout(checkSession, 5000);
      }
    }
  }

  function showLogin(message = "") {
    state.socket?.disconnect();
    Object.assign(state, { socket: null, user: null, seat: null, snapshot: null, windowId: null, window: null });
    $("login-error").textContent = message;
    $("password").value = "";
    show("login");
    $("username").focus();
  }

  async function login(event) {
    event.preventDefault();
    if (await hallq.login(["clerk", "admin"], "该账号没有窗口叫号权限")) await checkSession();
  }

  function loggedIn(user) {
    state.user = user;
    $("pick-user").textContent = `${user.name}（${user.username}）`;
    show("loading");
    state.socket = hallq.connect({
      snapshot: applySnapshot,
      printers: hallq.printerAlerts($("printer-alerts")),
      unauthorized: () => showLogin("登录已过期，请重新登录"),
    });
  }

  async function logout() {
    if (state.window && isMine(state.window)) {
      try {
        await hallq.api("POST", `/api/windows/${state.windowId}/sign-out`);
      } catch (err) {
        report(err.message, "error");
        return;
      }
    }
    try {
      await hallq.api("POST", "/api/auth/logout");
    } catch (err) {
      hallq.toast(err.message);
    }
    showLogin("已退出登录");
  }

  // ------------------------------------------------------------------ live state

  /** 延时服务: this window's residents still waiting after a session ended (midday or evening), so the clerk stays
   * until they are served. */
  function showExtended(snapshot) {
    const mine = snapshot.status?.extended?.windows?.find((w) => w.id === state.windowId);
    const alert = $("extended-alert");
    alert.hidden = !mine || state.view !== "operate";
    if (!alert.hidden) {
      alert.textContent = mine.waiting > 0 ? `延时服务：还有 ${mine.waiting} 人等候` : "延时服务：本窗口事项已无人等候";
    }
  }

  function applySnapshot(snapshot) {
    state.snapshot = snapshot;
    $("hall-name").textContent = `${snapshot.hall.name} · 窗口叫号`;
    showExtended(snapshot);
    if (state.view === "loading") {
      const resume = snapshot.windows.find(isMine);
      if (resume) enterWindow(resume);
      else showPick();
      return;
    }
    if (state.view === "pick") renderPick();
    if ($("transfer-dialog").open) renderTransfer();
    if (state.view === "operate") {
      const w = snapshot.windows.find((x) => x.id === state.windowId);
      if (w?.clerk) {
        state.window = w;
        renderOperate();
      } else {
        verifySeat();  // signed out elsewhere, or a snapshot older than our sign-in: ask the server
      }
    }
  }

  async function verifySeat() {
    if (state.verifying) return;
    state.verifying = true;
    try {
      const me = await hallq.api("GET", "/api/auth/me");
      state.seat = me.window;
      if (state.view === "operate" && state.seat !== state.windowId) {
        const name = state.window ? state.window.name : "该窗口";
        leaveWindow();
        hallq.toast(`您已不在${name}签到，请重新选择窗口`);
      }
    } catch (err) {
      if (err.status === 401) showLogin("登录已过期，请重新登录");
    } finally {
      state.verifying = false;
    }
  }

  // ------------------------------------------------------------------ choosing a window

  function showPick() {
    show("pick");
    renderPick();
  }

  function renderPick() {
    $("window-list").replaceChildren(...state.snapshot.windows.map((w) => {
      const mine = isMine(w);
      const taken = w.clerk && !mine;
      const note = mine ? "您已在此签到，点击进入" : taken ? `${w.clerk.name} 已签到` : "空闲，点击签到";
      return h("button", { class: `btn window-pick${mine ? " is-mine" : ""}`, type: "button", disabled: taken,
        dataset: { window: w.id }, onclick: () => signIn(w.id) },
      h("span", { class: "pick-name" }, w.name), h("span", { class: "pick-label" }, `${w.label} · ${w.zone}`),
      h("span", { class: "pick-state" }, note));
    }));
  }

  async function signIn(id) {
    if (state.busy) return;
    state.busy = true;
    try {
      const { window: w } = await hallq.api("POST", `/api/windows/${id}/sign-in`);
      enterWindow(w);
      report(`已在${w.name}签到`, "ok");
    } catch (err) {
      hallq.toast(err.message);
    } finally {
      state.busy = false;
      if (state.view === "operate") renderOperate();
    }
  }

  function enterWindow(w) {
    state.seat = w.id;
    state.windowId = w.id;
    state.window = w;
    show("operate");
    renderOperate();
    callerCases.refresh();
  }

  function leaveWindow() {
    state.windowId = null;
    state.window = null;
    $("result").hidden = true;
    showPick();
  }

  // ------------------------------------------------------------------ operating

  function renderOperate() {
    const w = state.window;
    if (!w) return;
    $("op-window").textContent = w.name;
    $("op-label").textContent = `${w.label} · ${w.zone}`;
    $("op-status").textContent = WINDOW_STATUS[w.status] || w.status;
    $("op-status").dataset.status = w.status;
    $("op-clerk").textContent = w.clerk ? `工作人员：${w.clerk.name}${w.clerk.staff_no ? `（工号 ${w.clerk.staff_no}）` : ""}` : "";

    const current = w.current && ACTIVE.includes(w.current.status) ? w.current : null;
    $("current-number").textContent = current ? current.number : "暂无";
    $("current-number").classList.toggle("is-empty", !current);
    $("current-service").textContent = current ? serviceName(current.service) : "请按 F1 呼叫下一位";
    $("current-status").textContent = current ? TICKET_STATUS[current.status] : "";
    $("current-status").hidden = !current;
    showAppointment(current?.appointment ? current : null);
    const from = current?.transferred_from;  // 转入: the clerk sees where the resident was sent from
    $("current-transfer").hidden = !from;
    $("current-transfer").textContent = from ? `转入 · 来自 ${windowName(from)}` : "";

    const services = w.services.map((code) => state.snapshot?.services.find((s) => s.code === code))
      .filter(Boolean);
    const total = services.reduce((sum, s) => sum + s.waiting, 0);
    $("waiting-list").replaceChildren(
      ...services.map((s) => h("li", { class: s.waiting ? "has-waiting" : "" },
        h("span", {}, s.name), h("strong", {}, `${s.waiting} 人`))),
      h("li", { class: "total" }, h("span", {}, "合计等候"), h("strong", {}, `${total} 人`)));

    const status = current?.status;
    const enabled = {
      "call-next": w.status === "open",
      "recall": status === "called",
      "no-show": status === "called",
      "start": status === "called",
      "finish": Boolean(status),
      "finish-case": Boolean(status),
      "transfer": Boolean(status),
      "special": w.status === "open",
      "toggle-pause": w.status === "open" || w.status === "paused",
      "sign-out": !status,
      "visits": true,
      "cases": true,
      "logout": true,
    };
    for (const button of document.querySelectorAll("#operate [data-action]")) {
      button.disabled = state.busy || !enabled[button.dataset.action];
    }
    $("pause-button").firstChild.textContent = w.status === "paused" ? "恢复 " : "暂停 ";
  }

  function report(message, kind = "ok") {
    const el = $("result");
    el.replaceChildren(h("span", { class: "result-time" }, hallq.time(hallq.now(), true)), h("span", {}, message));
    el.dataset.kind = kind;
    el.hidden = false;
  }

  /** Apply an action's answer to our window at once; the next snapshot confirms it. */
  function applyResult(data) {
    if (data.window) {
      state.window = data.window;
    } else if ("ticket" in data && state.window) {
      const t = data.ticket;
      state.window = { ...state.window, current: t && t.window === state.windowId && ACTIVE.includes(t.status)
        ? { id: t.id, number: t.number, status: t.status, service: t.service, appointment: t.appointment,
          transferred_from: t.transferred_from_window } : null };
    }
  }

  async function act(action, body, describe) {
    if (state.busy || state.windowId === null) return;
    state.busy = true;
    renderOperate();
    try {
      const data = await hallq.api("POST", `/api/windows/${state.windowId}/${action}`, body);
      applyResult(data);
      const [message, kind] = describe(data.ticket ?? data.window);
      report(message, kind || "ok");
      return data;
    } catch (err) {
      report(err.message, "error");
      if (err.status === 401) showLogin("登录已过期，请重新登录");
      else if (err.code === "not_signed_in") verifySeat();
      return null;
    } finally {
      state.busy = false;
      renderOperate();
    }
  }

  const ACTIONS = {
    "call-next": () => act("call-next", undefined, (t) => (t
      ? [`已呼叫 ${t.number}（${t.service_name}）`] : ["当前没有等候的群众", "info"])),
    "recall": () => act("recall", undefined, (t) => [`${t.number} 已重呼（第 ${t.recalls} 次）`]),
    "no-show": () => act("no-show", undefined, (t) => [`${t.number} 已过号`]),
    "start": () => act("start", undefined, (t) => [`${t.number} 开始办理`]),
    "finish": () => act("finish", undefined, (t) => [`${t.number} 已办结（即办件）`]).then(callerCases.finished),
    "finish-case": () => callerCases.choose(state.window, (body, describe) => act("finish", body, describe)
      .then(callerCases.finished)),
    "transfer": openTransfer,
    "cases": () => callerCases.openList(),
    "special": () => { $("special-number").value = ""; $("special-dialog").showModal(); },
    "toggle-pause": () => (state.window.status === "paused"
      ? act("resume", undefined, () => ["已恢复服务"])
      : act("pause", undefined, () => ["已暂停服务，恢复前不会叫号", "info"])),
    "sign-out": async () => {
      if (await act("sign-out", undefined, (w) => [`已在${w.name}签退`])) {
        state.seat = null;
        leaveWindow();
        hallq.toast("已签退", "ok", 3000);
      }
    },
    "logout": logout,
    "visits": openVisits,
  };

  // ------------------------------------------------------------------ 预约: the appointment behind the number (masked)

  /** A 预约 number: its tag, and the slot and the resident's masked name, to greet them. */
  async function showAppointment(current) {
    $("current-tag").hidden = !current;
    const line = $("current-appointment");
    if (!current) {
      state.appointmentOf = null;
      line.hidden = true;
      return;
    }
    if (state.appointmentOf === current.id) return;
    state.appointmentOf = current.id;
    try {
      const { appointment: a } = await hallq.api("GET", `/api/tickets/${current.id}/appointment`);
      if (state.appointmentOf !== current.id) return;
      line.textContent = `预约 ${a.slot}${a.slot_end ? `-${a.slot_end}` : ""} · ${a.name} · ${a.phone}`;
      line.hidden = false;
    } catch {
      line.hidden = true;  // the record may be purged: the tag still says 预约
    }
  }

  async function openVisits() {
    let answer;
    try {
      answer = await hallq.api("GET", "/api/appointments/assigned");
    } catch (err) {
      report(err.message, "error");
      return;
    }
    const rows = answer.appointments.map((a) => {
      const note = h("input", { class: "visit-note", placeholder: "办理情况或未办原因", maxlength: "200" });
      const mark = (done) => async () => {
        try {
          await hallq.api("POST", `/api/appointments/${a.id}/outcome`, { done, note: note.value.trim() });
          openVisits();
        } catch (err) {
          hallq.toast(err.message);
        }
      };
      return h("li", { dataset: { appointment: a.id } },
        h("span", { class: "visit-when" }, `${a.date} ${a.slot} ${a.kind_text}`),
        h("span", {}, `${a.service_name} · ${a.name} · ${a.phone}`),
        h("span", { class: "chip" }, a.status_text),
        ...(a.status === "booked" ? [note, h("button", { class: "btn", type: "button", onclick: mark(true) }, "已办理"),
          h("button", { class: "btn", type: "button", onclick: mark(false) }, "未办理")] : []));
    });
    $("visits-list").replaceChildren(...(rows.length ? rows : [h("li", {}, "暂无分配给您的上门服务或节假日预约")]));
    if (!$("visits-dialog").open) $("visits-dialog").showModal();
  }

  // ------------------------------------------------------------------ dialogs

  /** 转移: to an item (any of its windows calls the resident; one with no window open now says so), or to a window
   * a clerk is signed in to: the server refuses one nobody is at. Redrawn by every snapshot while open. */
  function renderTransfer() {
    const { services: all, windows, hall } = state.snapshot;
    const services = all.filter((s) => windows.some((w) => w.services.includes(s.code)));
    const others = windows.filter((w) => w.id !== state.windowId && w.status !== "closed");
    const transfer = (body, label) => {
      $("transfer-dialog").close();
      act("transfer", body, (t) => (t.window_notice
        ? [`${t.number} 已转至${label}。${t.window_notice}`, "info"] : [`${t.number} 已转至${label}`]));
    };
    $("transfer-services").replaceChildren(...services.map((s) => h("button", {
      class: "btn", type: "button", dataset: { service: s.code },
      onclick: () => transfer({ service: s.code }, `「${s.name}」`),
    }, s.open_windows?.length ? s.name : `${s.name}（暂无窗口）`)));
    $("transfer-windows").replaceChildren(...others.map((w) => h("button", {
      class: "btn", type: "button", dataset: { window: w.id },
      onclick: () => transfer({ window: w.id }, w.name),
    }, `${w.name}${hall.zoned && w.zone ? `（${w.zone}）` : ""} ${w.label}（${WINDOW_STATUS[w.status] || w.status}）`)));
    $("transfer-none").hidden = others.length > 0;
  }

  function openTransfer() {
    renderTransfer();
    $("transfer-dialog").showModal();
    $("transfer-dialog").querySelector("[data-close]").focus();  // Enter must not transfer by accident
  }

  function special(event) {
    event.preventDefault();
    const number = $("special-number").value.trim().toUpperCase();
    if (!number) return;
    $("special-dialog").close();
    act("call", { number }, (t) => [`特呼 ${t.number}（${t.service_name}）`]);
  }

  // ------------------------------------------------------------------ wiring

  function onKey(event) {
    const action = KEYS[event.key];
    if (!action || state.view !== "operate") return;
    event.preventDefault();  // F5 must not reload, F1 must not open help
    if (event.repeat || document.querySelector("dialog[open]")) return;
    document.querySelector(`#operate [data-action="${action}"]`).click();  // no-op when disabled
  }

  function start() {
    hallq.clock($("clock"), null, true);
    $("login").addEventListener("submit", login);
    $("pick-logout").addEventListener("click", logout);
    for (const button of document.querySelectorAll("#operate [data-action]")) {
      button.addEventListener("click", () => ACTIONS[button.dataset.action]());
    }
    for (const button of document.querySelectorAll("dialog [data-close]")) {
      button.addEventListener("click", () => button.closest("dialog").close());
    }
    $("special-form").addEventListener("submit", special);
    document.addEventListener("keydown", onKey);
    checkSession();
  }

  start();
})();
