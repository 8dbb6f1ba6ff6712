/* The touch kiosk: category → item → 确认取号 → ticket, or 我有预约 → code or phone on the keypad → ticket; back
 * home after an idle countdown. 办事指南 (the item guides and their search) is guide.js, through hallq.kiosk. */
(() => {
  "use strict";
  const { h } = hallq;
  const $ = (id) => document.getElementById(id);
  const CATEGORY_IDLE_S = 30;
  const TICKET_IDLE_S = 15;
  const DONE_GUARD_MS = 800;   // the second tap of a double tap must not hit 完成 on the ticket screen
  const PRINT_FAILED_IDLE_S = 40;  // time to read and remember the number when no paper came out
  const PRINT_FAILED = "打印失败，请记住您的号码或到导询台补打";
  const PRINT_UNKNOWN_S = 10;  // no word from the printer by then (e.g. the connection dropped): say what to do
  const APPOINTMENT_IDLE_S = 45;  // typing 11 digits takes an elderly resident a while
  const ENTRY = { code: { length: 6, prompt: "请输入 6 位预约码（登记预约时告知您的）", groups: [3, 3] },
    phone: { length: 11, prompt: "请输入预约时登记的 11 位手机号", groups: [3, 4, 4] } };
  // refusals after which a normal ticket for the same item is offered with one tap
  const OFFER_TICKET = new Set(["appointment_forfeited", "appointment_cancelled"]);

  const state = {
    services: [], windows: [], category: null, busy: false, socket: null, doneTimer: null, ticketId: null,
    printTimer: null, early: new Map(),  // print outcomes that came before their ticket's answer
    entryMode: "code", digits: "",
  };

  // ------------------------------------------------------------------ pages and the idle countdown

  const idle = { timer: null, deadline: 0, seconds: 0, el: null };

  function show(page) {
    for (const id of ["loading", "home", "category", "appointment", "guide-search", "guide-item", "ticket"]) {
      $(id).hidden = id !== page;
    }
    $("kiosk-error").hidden = true;
    $("confirm").hidden = true;
    tell("page", { page });
  }

  /** What happens at this kiosk, for its add-ons (elder.js, 长辈模式): "page" {page}, "item" {service},
   * "ticket" {ticket}, "finished" (back home after 完成 or the idle countdown). */
  function tell(name, detail = {}) {
    document.dispatchEvent(new CustomEvent(`kiosk:${name}`, { detail }));
  }

  function startIdle(seconds, el) {
    stopIdle();
    Object.assign(idle, { seconds, el, deadline: Date.now() + seconds * 1000 });
    const tick = () => {
      const left = Math.max(0, Math.ceil((idle.deadline - Date.now()) / 1000));
      idle.el.textContent = `${left} 秒后自动返回首页`;
      if (left === 0) finish();
    };
    tick();
    idle.timer = setInterval(tick, 250);
  }

  function stopIdle() {
    clearInterval(idle.timer);
    idle.timer = null;
  }

  // every touch restarts the countdown of the page being read
  document.addEventListener("pointerdown", () => {
    if (idle.timer) idle.deadline = Date.now() + idle.seconds * 1000;
  }, { passive: true });

  /** The resident is done (完成, or nobody touched the screen): home, as the next resident finds it. */
  function finish() {
    tell("finished");
    goHome();
  }

  function goHome() {
    stopIdle();
    state.category = null;
    state.digits = "";
    renderHome();
    show("home");
  }

  // ------------------------------------------------------------------ data

  function categories() {
    const order = new Map();
    for (const service of state.services) {
      if (!order.has(service.category)) order.set(service.category, []);
      order.get(service.category).push(service);
    }
    return order;
  }

  const sum = (services) => services.reduce((total, s) => total + s.waiting, 0);

  /** 暂无窗口办理 when no window of these items has a clerk signed in, 窗口暂停服务 when every one that has is
   * paused: said on the tile, which stays usable (the number is called in order once a window opens). */
  function windowNote(services) {
    const open = new Set(services.flatMap((s) => s.open_windows || []));
    if (!open.size) return "暂无窗口办理";
    return state.windows.filter((w) => open.has(w.id)).every((w) => w.status === "paused") ? "窗口暂停服务" : "";
  }

  /** Rebuild tiles only when the set of buttons changed; else update counts and notes in place, so a live update
   * never replaces the button a resident is touching. ``services`` gives a tile's items. */
  function syncTiles(container, entries, build, services) {
    const key = entries.map(([id]) => id).join("\n");
    if (container.dataset.key !== key) {
      container.dataset.key = key;
      container.replaceChildren(...entries.map(([id, value]) => build(id, value)));
    }
    entries.forEach(([, value], i) => {
      const tile = container.children[i];
      tile.querySelector(".tile-count").textContent = `等候 ${sum(services(value))} 人`;
      const note = tile.querySelector(".tile-note");
      note.textContent = windowNote(services(value));
      note.hidden = !note.textContent;
    });
  }

  const tileParts = (name) => [h("span", { class: "tile-name" }, name), h("span", { class: "tile-count" }),
    h("span", { class: "tile-note", hidden: true })];

  function renderHome() {
    syncTiles($("categories"), [...categories()], (name) =>
      h("button", { class: "tile", type: "button", dataset: { category: name }, onclick: () => openCategory(name) },
        ...tileParts(name)),
    (services) => services);
  }

  function renderItems() {
    const name = state.category;
    const services = categories().get(name) || [];
    $("category-name").textContent = name;
    syncTiles($("items"), services.map((s) => [s.code, s]), (code, service) => h("div", { class: "item-row" },
      h("button", { class: "tile tile-item", type: "button", dataset: { service: code },
        onclick: () => confirmIssue(code) }, ...tileParts(service.name)),
      // 办事指南 without taking a number (guide.js)
      h("button", { class: "tile-guide", type: "button", dataset: { guide: code }, "aria-label": `查看指南：${service.name}`,
        onclick: () => hallq.kioskGuide.open(code, () => openCategory(name)) }, "指南")),
    (service) => [service]);
  }

  function openCategory(name) {
    const services = categories().get(name) || [];
    if (services.length === 1) {
      confirmIssue(services[0].code);
      return;
    }
    state.category = name;
    renderItems();
    show("category");
    startIdle(CATEGORY_IDLE_S, $("category-countdown"));
  }

  // ------------------------------------------------------------------ issuing

  /** Every ticket is confirmed first, whatever led to it (a tile, a category of one item, a guide's 取号): a
   * resident who touched the wrong tile goes back instead of waiting in the wrong line. */
  function confirmIssue(code) {
    const service = state.services.find((s) => s.code === code);
    if (state.busy || !service) return;
    $("confirm-name").textContent = service.name;
    tell("item", { service: code });
    $("confirm-ok").onclick = () => { $("confirm").hidden = true; issue(code); };
    $("confirm").hidden = false;
    if (!idle.timer) startIdle(CATEGORY_IDLE_S, $("category-countdown"));
  }

  function setBusy(busy, code = null) {
    state.busy = busy;
    for (const button of document.querySelectorAll(".tile, .key, #entry-submit, #appointment-open, #guide-take")) {
      button.disabled = busy;
      button.classList.toggle("is-working", busy && button.dataset.service === code);
    }
  }

  async function issue(code) {
    if (state.busy) return;
    setBusy(true, code);
    try {
      const answer = await hallq.api("POST", "/api/tickets", { service: code, priority: null });
      showTicket(answer.ticket);
      showPrint(answer.print);
    } catch (err) {
      if (err.status === 401) unauthorized();
      else showError(err.code === "network" ? $("kiosk-offline").textContent : err.message);
    } finally {
      setBusy(false);
    }
  }

  /** 预计等候 from the day's pace; a minute or less reads as 即将叫号. */
  function waitText(minutes) {
    return minutes !== null && minutes <= 1 ? "预计即将叫号" : `预计等候约 ${minutes} 分钟`;
  }

  function showTicket(ticket) {
    state.ticketId = ticket.id;
    tell("ticket", { ticket: ticket.id });
    $("ticket-tag").hidden = !ticket.appointment;
    $("ticket-number").textContent = ticket.number;
    $("ticket-service").textContent = ticket.service_name;
    $("ticket-ahead").textContent = String(ticket.waiting_ahead);
    $("ticket-wait").hidden = ticket.estimated_wait_minutes === null;
    $("ticket-wait").textContent = waitText(ticket.estimated_wait_minutes);
    // a line breaks after 、 or ；, never inside 「6号窗口（一楼）」
    $("ticket-windows").replaceChildren(...(ticket.windows_text || "窗口").split(/(?<=[、；])/)
      .map((place) => h("span", { class: "place" }, place)));
    $("ticket-notice").textContent = ticket.window_notice || "";
    $("ticket-notice").hidden = !ticket.window_notice;
    $("ticket-time").textContent = `${hallq.date(ticket.issued_at)} ${hallq.time(ticket.issued_at, true)}`;
    $("done").disabled = true;
    clearTimeout(state.doneTimer);
    state.doneTimer = setTimeout(() => { $("done").disabled = false; }, DONE_GUARD_MS);
    show("ticket");
    startIdle(TICKET_IDLE_S, $("ticket-countdown"));
  }

  // ------------------------------------------------------------------ the paper ticket

  function setPrint(text, kind) {
    const line = $("ticket-print");
    line.textContent = text;
    line.className = `ticket-print is-${kind}`;
    $("ticket").classList.toggle("print-failed", kind === "failed");
  }

  function showPrint(plan) {
    clearTimeout(state.printTimer);
    if (!plan || plan.status === "none") {
      setPrint("本机未连接打印机，请记住您的号码", "failed");
      return;
    }
    setPrint("正在打印号票，请稍候…", "pending");
    state.printTimer = setTimeout(() => {
      if ($("ticket-print").classList.contains("is-pending")) setPrint("如未出票，请记住您的号码或到导询台补打", "unknown");
    }, PRINT_UNKNOWN_S * 1000);
    const early = state.early.get(state.ticketId);
    if (early) {
      state.early.delete(state.ticketId);
      printed(early);
    }
  }

  /** The printer's answer for a ticket of this kiosk. It comes over the socket, not with the ticket's answer,
   * and a fast printer can answer before the ticket's own HTTP answer has arrived: keep it until then. */
  function printed(outcome) {
    if (outcome.ticket !== state.ticketId || $("ticket").hidden) {
      state.early.set(outcome.ticket, outcome);
      if (state.early.size > 20) state.early.delete(state.early.keys().next().value);
      return;
    }
    clearTimeout(state.printTimer);
    if (outcome.ok) {
      setPrint("请取走号票", "ok");
      return;
    }
    setPrint(PRINT_FAILED, "failed");
    startIdle(PRINT_FAILED_IDLE_S, $("ticket-countdown"));
  }

  /** A refusal in a large dialog; ``offer`` ({label, run}) adds the one tap that helps next (取普通号). */
  function showError(message, offer = null) {
    $("kiosk-error-text").textContent = message;
    const button = $("kiosk-error-offer");
    button.hidden = !offer;
    button.textContent = offer ? offer.label : "";
    button.onclick = offer ? () => { $("kiosk-error").hidden = true; offer.run(); } : null;
    $("kiosk-error").hidden = false;
    if (!idle.timer) startIdle(CATEGORY_IDLE_S, $("category-countdown"));
  }

  // ------------------------------------------------------------------ 我有预约: check in with the code or the phone

  function openAppointment() {
    state.digits = "";
    setEntryMode("code");
    show("appointment");
    startIdle(APPOINTMENT_IDLE_S, $("appointment-countdown"));
  }

  function setEntryMode(mode) {
    state.entryMode = mode;
    state.digits = "";
    for (const button of document.querySelectorAll(".entry-mode")) {
      const chosen = button.dataset.mode === mode;
      button.classList.toggle("is-chosen", chosen);
      button.setAttribute("aria-selected", String(chosen));
    }
    $("entry-prompt").textContent = ENTRY[mode].prompt;
    renderEntry();
  }

  /** One box per digit, grouped as people read them (138 1234 5678). */
  function renderEntry() {
    const { length, groups } = ENTRY[state.entryMode];
    let at = 0;
    $("entry").replaceChildren(...groups.map((size) => h("span", { class: "entry-group" },
      ...Array.from({ length: size }, () => {
        const digit = state.digits[at++] || "";
        return h("span", { class: `entry-box${digit ? " is-filled" : ""}` }, digit);
      }))));
    $("entry").dataset.value = state.digits;
    $("entry-submit").disabled = state.busy || state.digits.length !== length;
  }

  function press(key) {
    if (state.busy) return;
    if (key === "clear") state.digits = "";
    else if (key === "back") state.digits = state.digits.slice(0, -1);
    else if (state.digits.length < ENTRY[state.entryMode].length) state.digits += key;
    renderEntry();
  }

  async function checkIn() {
    if (state.busy || state.digits.length !== ENTRY[state.entryMode].length) return;
    setBusy(true);
    try {
      const answer = await hallq.api("POST", "/api/appointments/check-in", { [state.entryMode]: state.digits });
      state.digits = "";
      showTicket(answer.ticket);
      showPrint(answer.print);
    } catch (err) {
      if (err.status === 401) unauthorized();
      else showError(err.message, OFFER_TICKET.has(err.code) && err.detail?.service
        ? { label: `取普通号：${err.detail.service_name}`, run: () => confirmIssue(err.detail.service) } : null);
    } finally {
      setBusy(false);
      renderEntry();
    }
  }

  function unauthorized() {
    stopIdle();
    state.socket?.disconnect();
    hallq.fatal("本设备令牌无效或已被更换", "请用管理员提供的带令牌的新地址重新打开本页面");
  }

  // ------------------------------------------------------------------ live state

  /** Outside hours (or past the ticket cut-off) say so before anyone touches a tile; the desk still helps. */
  function applyStatus(status) {
    const banner = $("closed");
    banner.hidden = !status || status.accepting;
    if (banner.hidden) return;
    const why = status.state === "open" ? "本时段已停止取号" : "现在不是办理时间";
    banner.textContent = `${why}，下次开放：${status.next_open_text}。可到导询台咨询或预约`;
  }

  /** This kiosk's printer: when it cannot print, residents are told before they take a number. */
  function applyPrinter({ printer }) {
    const notice = $("printer-notice");
    notice.hidden = !printer || printer.ok;
    if (!notice.hidden) notice.textContent = `本机暂时无法打印号票（${printer.message}），取号后请记住您的号码，或到导询台取号`;
  }

  function applySnapshot(snapshot) {
    applyStatus(snapshot.status);
    $("hall-name").textContent = snapshot.hall.name;
    document.title = `自助取号 · ${snapshot.hall.name}`;
    applyServices(snapshot.services, snapshot.windows);
  }

  function applyServices(services, windows) {
    const first = !state.services.length;
    state.services = services;
    state.windows = windows;
    renderHome();
    if (state.category) renderItems();
    if (first) show("home");
  }

  function start() {
    if (!hallq.token("kiosk")) {
      hallq.fatal("本设备未授权：请用管理员提供的带令牌的地址打开", "例如 http://服务器地址/kiosk#token=……");
      return;
    }
    hallq.clock($("clock"), $("date"));
    $("back").addEventListener("click", goHome);
    $("appointment-open").addEventListener("click", openAppointment);
    $("appointment-back").addEventListener("click", goHome);
    $("entry-submit").addEventListener("click", checkIn);
    for (const button of document.querySelectorAll(".entry-mode")) {
      button.addEventListener("click", () => setEntryMode(button.dataset.mode));
    }
    for (const key of document.querySelectorAll(".key")) key.addEventListener("click", () => press(key.dataset.key));
    $("done").addEventListener("click", finish);
    $("kiosk-error-ok").addEventListener("click", () => { $("kiosk-error").hidden = true; });
    $("confirm-back").addEventListener("click", () => { $("confirm").hidden = true; });
    // REST first: a bad token shows at once, and the home page works before the socket is up
    Promise.all([hallq.api("GET", "/api/services"), hallq.api("GET", "/api/windows")]).then(([s, w]) => {
      if (!state.services.length) applyServices(s.services, w.windows);
    }).catch((err) => {
      if (err.status === 401) unauthorized();
      else hallq.toast(err.message);
    });
    state.socket = hallq.connect({ snapshot: applySnapshot, unauthorized, printed, printer: applyPrinter });
  }

  // what guide.js uses: the pages, their countdowns and the confirmed ticket
  hallq.kiosk = { show, startIdle, goHome, confirmIssue, unauthorized };

  start();
})();
