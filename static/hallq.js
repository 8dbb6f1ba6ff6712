/* hallq shared browser helpers: device token, JSON API calls, the Socket.IO connection, small DOM and time
 * utilities. Plain ES2020, no build step; every screen loads this file before its own script. */
(() => {
  "use strict";

  const REQUEST_TIMEOUT_MS = 15000;
  let authToken = null;       // device token used by api() and connect()
  let serverOffsetMs = 0;     // server clock minus this device's clock, from snapshot.server_time

  // ------------------------------------------------------------------ token

  const TOKEN_IN_HASH = /(?:^#|&)token=([^&]+)/;
  let watchingHash = false;

  /** The device token of a role: taken from `#token=...` (then saved and removed from the address bar),
   * else from localStorage. Also becomes the token that api() and connect() send. Null when there is none.
   * A new `#token=...` opened later in the same tab (a replaced token: the technician re-added the device) is
   * saved and the screen starts over on it, whatever it showed (本设备令牌无效 included): no manual reload. */
  function token(role) {
    const key = `hallq.${role}.token`;
    if (!watchingHash) {
      watchingHash = true;
      addEventListener("hashchange", () => {
        if (TOKEN_IN_HASH.test(location.hash)) { token(role); location.reload(); }
      });
    }
    const match = TOKEN_IN_HASH.exec(location.hash);
    if (match) {
      const fresh = decodeURIComponent(match[1]).trim();
      try { localStorage.setItem(key, fresh); } catch { /* private mode: keep it for this page only */ }
      history.replaceState(null, "", location.pathname + location.search);
      authToken = fresh || null;
      return authToken;
    }
    try { authToken = localStorage.getItem(key) || null; } catch { authToken = null; }
    return authToken;
  }

  // ------------------------------------------------------------------ REST

  function apiError(code, message, status = 0, detail = null) {
    const error = new Error(message);
    error.code = code;
    error.status = status;
    error.detail = detail;  // facts for the next step, e.g. the item of a forfeited appointment
    return error;
  }

  /** Call the JSON API; resolves to the parsed body, or throws an Error with .code, .message, .status, .detail. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (authToken) headers.Authorization = `Bearer ${authToken}`;
    // every state-changing call is typed JSON, with a body or none: the server refuses anything else (CSRF)
    if (body !== undefined || method !== "GET") headers["Content-Type"] = "application/json";
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin", cache: "no-store", signal: abort.signal,
      });
    } catch (err) {
      throw err.name === "AbortError"
        ? apiError("timeout", "服务器响应超时，请稍后重试")
        : apiError("network", "网络连接中断，请稍后重试");
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try { data = await response.json(); } catch { /* not JSON: handled below */ }
    if (!response.ok) {
      const detail = data && data.error;
      throw apiError(detail?.code || `http_${response.status}`,
        detail?.message || `服务器错误（${response.status}），请稍后重试`, response.status, detail?.detail || null);
    }
    if (data === null) throw apiError("bad_response", "服务器返回的数据无法识别，请联系管理员", response.status);
    return data;
  }

  /** The staff login form of parts.html `staff_login`: logs in, and out again at once when the account has none of
   * `roles` (saying `refusal`). Resolves to the user, or null with the reason shown in #login-error. */
  async function login(roles, refusal) {
    const button = document.getElementById("login-submit");
    const error = document.getElementById("login-error");
    const password = document.getElementById("password");
    button.disabled = true;
    error.textContent = "";
    try {
      const { user } = await api("POST", "/api/auth/login",
        { username: document.getElementById("username").value.trim(), password: password.value });
      if (!roles.includes(user.role)) {
        await api("POST", "/api/auth/logout");
        error.textContent = refusal;
        return null;
      }
      password.value = "";
      return user;
    } catch (err) {
      error.textContent = err.message;
      return null;
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ Socket.IO

  /** Connect to the hall's Socket.IO feed. handlers: {snapshot, called, unauthorized}. The #offline banner
   * shows while disconnected; socket.io reconnects by itself, forever. Unauthorized: the server refused us. */
  function connect(handlers = {}) {
    const banner = offlineBanner();
    // websocket only: one connection, on one server process for its life (several behind nginx: no sticky
    // sessions needed, docs/deployment.md); the hall's screens are Chromium
    const socket = io({
      auth: authToken ? { token: authToken } : {}, transports: ["websocket"],
      reconnection: true, reconnectionAttempts: Infinity, reconnectionDelay: 1000, reconnectionDelayMax: 5000,
    });
    const root = document.documentElement;
    socket.on("connect", () => { banner.hidden = true; root.dataset.socket = "connected"; });
    socket.on("disconnect", (reason) => {
      root.dataset.socket = "offline";
      banner.hidden = reason === "io client disconnect";  // we closed it ourselves (logout)
      if (reason === "io server disconnect") socket.connect();  // not retried by socket.io itself
    });
    socket.on("connect_error", (err) => {
      if (!socket.active) {  // refused by the server, not a network error: retrying will not help
        banner.hidden = true;
        handlers.unauthorized?.(err);
        return;
      }
      banner.hidden = false;
      root.dataset.socket = "offline";  // also when the server was out of reach from the start
    });
    socket.on("snapshot", (snapshot) => {
      if (snapshot?.server_time) syncClock(snapshot.server_time);
      useZone(snapshot?.hall?.timezone);
      showHallState(snapshot?.status);
      handlers.snapshot?.(snapshot);
    });
    for (const name of ["called", "printed", "printers", "printer", "rating_prompt", "guide"]) {
      if (handlers[name]) socket.on(name, handlers[name]);
    }
    return socket;
  }

  /** A handler for the `printers` event that lists, in `strip`, every printer that is not fine: faults in red
   * (no paper comes out: residents must be told), a low paper roll as a warning. Staff screens only. */
  function printerAlerts(strip) {
    return ({ printers }) => {
      const alerts = printers.filter((p) => !p.ok || p.status === "paper_near_end");
      strip.replaceChildren(...alerts.map((p) => h("p", { class: `printer-alert ${p.ok ? "is-warning" : "is-fault"}` },
        `${p.ok ? "提醒" : "打印机故障"}：${p.name}${p.kiosks.length ? `（${p.kiosks.join("、")}）` : ""} ${p.message}`)));
      strip.hidden = alerts.length === 0;
    };
  }

  /** The hall's state in every screen's header: nothing while open; 「休息中」, 「停止取号」 or, after a session's end
   * (midday or evening) with residents still waiting, 「延时服务中，请耐心等候」. */
  function showHallState(status) {
    const chip = document.getElementById("hall-state");
    if (!chip || !status) return;
    chip.hidden = status.accepting && status.state !== "extended";
    if (status.state === "extended") chip.textContent = "延时服务中，请耐心等候";
    else if (status.state === "open") chip.textContent = `停止取号 · 下次 ${status.next_open_text}`;
    else chip.textContent = `休息中 · 下次开放 ${status.next_open_text}`;
  }

  /** connect() for a screen on a device token: a refused token ends in a full-page message (nothing on the
   * screen can fix it; the administrator must open the page with a new token). */
  function connectDevice(handlers) {
    const socket = connect({
      ...handlers,
      unauthorized: () => {
        socket.disconnect();
        fatal("本设备令牌无效或已被更换", "请用管理员提供的带令牌的新地址重新打开本页面");
      },
    });
    return socket;
  }

  function offlineBanner() {
    let banner = document.getElementById("offline");
    if (!banner) {
      banner = h("div", { id: "offline", class: "offline", role: "status", "aria-live": "assertive" },
        "连接中断，正在重连…");
      document.body.append(banner);
    }
    banner.hidden = true;
    return banner;
  }

  // ------------------------------------------------------------------ the hall's words

  /** The hall's words (server/vocabulary.py): the labels of ticket and window states, rating levels, roles, device
   * kinds, weekdays... served with the page in screen.html's JSON block, so no screen keeps a copy of its own.
   * Read once, now: a fatal() message later replaces the body the block is in. */
  const words = Object.freeze(JSON.parse(document.getElementById("hall-words")?.textContent || "{}"));

  // ------------------------------------------------------------------ time
  // Every time and date on every screen is the hall's (`[hall] timezone`), whatever zone the device is set to: a
  // kiosk PC left on UTC must show the time printed on its tickets. Nothing below reads the device's zone.

  let hallWall = null;  // Intl formatter for the hall's wall clock

  /** Use `zone` (an IANA key) for every time and date; one this browser does not know keeps the last zone. */
  function useZone(zone) {
    if (!zone || hallWall?.resolvedOptions().timeZone === zone) return;
    try {
      hallWall = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
        month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    } catch { /* RangeError: keep the zone we have */ }
  }
  useZone("Asia/Shanghai");
  useZone(document.documentElement.dataset.hallZone);  // screen.html; the snapshot repeats it

  function syncClock(iso) {
    const server = Date.parse(iso);
    if (!Number.isNaN(server)) serverOffsetMs = server - Date.now();
  }

  function now() { return new Date(Date.now() + serverOffsetMs); }

  const pad = (n) => String(n).padStart(2, "0");

  /** The hall's wall clock at an instant (ISO string or Date): {year, month, day, hour, minute, second}. */
  function wallClock(value) {
    const d = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(d.getTime())) return null;
    const wall = {};
    for (const part of hallWall.formatToParts(d)) if (part.type !== "literal") wall[part.type] = Number(part.value);
    return wall;
  }

  /** "09:05" or "09:05:07" in the hall, from an ISO string or a Date. */
  function time(value, seconds = false) {
    const t = wallClock(value);
    if (!t) return "";
    return `${pad(t.hour)}:${pad(t.minute)}${seconds ? `:${pad(t.second)}` : ""}`;
  }

  const isoDay = (t) => `${t.year}-${pad(t.month)}-${pad(t.day)}`;

  /** The hall's calendar day "2026-03-05" at an instant (its business date). */
  function dayOf(value) {
    const t = wallClock(value);
    return t ? isoDay(t) : "";
  }

  /** Today in the hall, "2026-03-05", by the server-corrected clock. */
  function today() { return dayOf(now()); }

  // Calendar days "YYYY-MM-DD" are counted at UTC midnight: no zone, no daylight saving shifts a day.
  const utcMidnight = (day) => new Date(`${day}T00:00:00Z`);

  /** The calendar day `n` days after `day` (before, when negative). */
  function addDays(day, n) {
    const d = utcMidnight(day);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  /** 0 (Sunday) … 6 (Saturday) of a calendar day. */
  function weekday(day) { return utcMidnight(day).getUTCDay(); }

  /** 一 … 日 of a calendar day: its ISO number (1 = Monday … 7 = Sunday) in the hall's words. */
  const weekdayChar = (day) => words.weekdays[weekday(day) || 7];

  /** "2026-12-01" → "12月1日（周二）" */
  function dayText(day) {
    const [, m, d] = day.split("-").map(Number);
    return `${m}月${d}日（周${weekdayChar(day)}）`;
  }

  /** A deadline's 「还剩 3 个工作日」, 「今天到期」 or 「超期 2 个工作日」 from its working days left (negative: past). */
  function workingDaysLeft(left) {
    return left < 0 ? `超期 ${-left} 个工作日` : left === 0 ? "今天到期" : `还剩 ${left} 个工作日`;
  }

  /** "2026年3月5日 星期四" in the hall, from an ISO string or a Date. */
  function date(value) {
    const t = wallClock(value);
    return t ? `${t.year}年${t.month}月${t.day}日 星期${weekdayChar(isoDay(t))}` : "";
  }

  /** Keep `timeEl` (and `dateEl`, if given) showing the hall's time, server-corrected; one timer per page. */
  let clockTimer = null;
  function clock(timeEl, dateEl = null, seconds = false) {
    const tick = () => {
      const current = now();
      timeEl.textContent = time(current, seconds);
      if (dateEl) dateEl.textContent = date(current);
    };
    clearInterval(clockTimer);
    tick();
    clockTimer = setInterval(tick, 1000);
  }

  // ------------------------------------------------------------------ DOM

  /** h("button", {class: "btn", onclick: fn, disabled: true}, "text", child...) */
  function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "class") el.className = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, value);
    }
    el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return el;
  }

  /** A message in the shared toast banner; kind is "error" (default), "ok" or "info". */
  let toastTimer = null;
  function toast(message, kind = "error", ms = 6000) {
    let el = document.getElementById("toast");
    if (!el) {
      el = h("div", { id: "toast", class: "toast", role: "alert", "aria-live": "assertive" });
      el.addEventListener("click", () => { el.hidden = true; });
      document.body.append(el);
    }
    el.textContent = message;
    el.dataset.kind = kind;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, ms);
  }

  /** Replace the whole page with one large message: for a screen that cannot work (no or bad token). */
  function fatal(message, detail = "") {
    clearInterval(clockTimer);
    document.body.replaceChildren(h("main", { class: "fatal", role: "alert" },
      h("div", { class: "fatal-icon", "aria-hidden": "true" }, "!"),
      h("p", { class: "fatal-message" }, message),
      detail ? h("p", { class: "fatal-detail" }, detail) : null));
  }

  /** Scale a fixed-size stage (e.g. 1280×400) to the screen's height and stretch it to its width, now and on
   * every resize: the window screen and the rating tablet. With `portrait` ([width, height]), a screen taller than
   * wide gets that stage instead, and root.dataset.orientation says which one is on for the screen's CSS (a tablet
   * mounted upright would otherwise show the landscape stage shrunk to a strip). */
  function fitStage(root, width, height, portrait = null) {
    const fit = () => {
      const upright = portrait !== null && innerHeight > innerWidth;
      const [stageW, stageH] = upright ? portrait : [width, height];
      root.dataset.orientation = upright ? "portrait" : "landscape";
      const scale = Math.min(innerWidth / stageW, innerHeight / stageH);
      root.style.width = `${innerWidth / scale}px`;
      root.style.height = `${innerHeight / scale}px`;
      root.style.transform = `scale(${scale})`;
    };
    addEventListener("resize", fit);
    fit();
  }

  window.hallq = { token, api, login, connect, connectDevice, printerAlerts, words, clock, now, time, date, dayOf,
    today, addDays, weekday, dayText, workingDaysLeft, h, toast, fatal, fitStage };
})();
