/* The waiting-area TV: a 1920×1080 stage, scaled to the screen, redrawn from every snapshot. */
(() => {
  "use strict";
  const { h } = hallq;
  const $ = (id) => document.getElementById(id);
  const STAGE_W = 1920;
  const STAGE_H = 1080;
  const RECENT_MAX = 8;
  const WAITING_MAX = 8;
  const LOG_MAX = 200;
  const FLASH_MS = 6000;
  const WINDOW_STATE = { paused: "暂停服务", closed: "未开放" };

  /** Every `called` event received, newest last: for tests and for checking a screen on site. */
  window.hallqCalls = [];

  const state = { latest: null, recent: [], flashTimer: null, socket: null };

  function fit() {
    const stage = $("stage");
    if (!stage) return;
    const scale = Math.min(innerWidth / STAGE_W, innerHeight / STAGE_H);
    const left = (innerWidth - STAGE_W * scale) / 2;
    const top = (innerHeight - STAGE_H * scale) / 2;
    stage.style.transform = `translate(${left}px, ${top}px) scale(${scale})`;
  }

  // ------------------------------------------------------------------ the latest call

  function showLatest(call, flash) {
    state.latest = call;
    $("latest").classList.remove("is-empty");
    $("latest-number").textContent = call.number;
    $("latest-arrow").hidden = false;
    $("latest-window").textContent = call.window_name;
    $("latest-text").textContent = call.text || "";
    if (!flash) return;
    const panel = $("latest");
    panel.classList.remove("flash");
    void panel.offsetWidth;  // restart the animation
    panel.classList.add("flash");
    clearTimeout(state.flashTimer);
    state.flashTimer = setTimeout(() => panel.classList.remove("flash"), FLASH_MS);
  }

  function onCalled(event) {
    const call = { number: event.ticket.number, window: event.window, window_name: event.window_name,
      text: event.text, at: event.at };
    window.hallqCalls.push({ number: call.number, window: call.window, text: call.text, at: call.at });
    if (window.hallqCalls.length > LOG_MAX) window.hallqCalls.splice(0, window.hallqCalls.length - LOG_MAX);
    showLatest(call, true);
    const others = state.recent.filter((c) => c.number !== call.number || c.window !== call.window);
    state.recent = [call, ...others].slice(0, RECENT_MAX);
    renderRecent();
  }

  function renderRecent() {
    $("recent").replaceChildren(...state.recent.map((c) => h("li", {},
      h("span", { class: "r-number" }, c.number), h("span", { class: "r-window" }, c.window_name))));
  }

  // ------------------------------------------------------------------ the hall

  function renderWindows(windows) {
    $("windows").replaceChildren(...windows.map((w) => {
      const current = w.current && ["called", "serving"].includes(w.current.status) ? w.current.number : null;
      const body = w.status === "open"
        ? h("div", { class: current ? "win-number" : "win-state" }, current || "请稍候")
        : h("div", { class: "win-state" }, WINDOW_STATE[w.status] || w.status);
      return h("div", { class: "win", dataset: { window: w.id, status: w.status } },
        h("div", { class: "win-head" }, h("span", { class: "win-name" }, w.name),
          h("span", { class: "win-label" }, w.label)),
        body);
    }));
  }

  function renderWaiting(services) {
    const waiting = services.filter((s) => s.waiting > 0).sort((a, b) => b.waiting - a.waiting);
    let shown = waiting;
    if (waiting.length > WAITING_MAX) {
      const rest = waiting.slice(WAITING_MAX - 1);
      shown = [...waiting.slice(0, WAITING_MAX - 1),
        { code: "", name: `其他 ${rest.length} 项`, waiting: rest.reduce((sum, s) => sum + s.waiting, 0) }];
    }
    $("waiting").replaceChildren(...shown.map((s) => h("li", { dataset: { service: s.code } },
      h("span", { class: "w-name" }, s.name), h("span", { class: "w-count" }, `${s.waiting} 人`))));
    $("waiting-empty").hidden = waiting.length > 0;
  }

  function renderNotice(text) {
    const el = $("notice");
    if (el.dataset.text === text) return;  // do not restart the scroll on every snapshot
    el.dataset.text = text;
    // the text twice, scrolled by half its width: a seamless loop that starts with the text in view
    el.replaceChildren(h("span", {}, text), h("span", { "aria-hidden": "true" }, text));
    el.style.animationDuration = `${Math.max(20, text.length * 0.5)}s`;
  }

  function applySnapshot(snapshot) {
    $("hall-name").textContent = snapshot.hall.name;
    document.title = `叫号大屏 · ${snapshot.hall.name}`;
    renderWindows(snapshot.windows);
    renderWaiting(snapshot.services);
    renderNotice(snapshot.hall.notice || "");
    state.recent = snapshot.recent_calls.slice(0, RECENT_MAX);
    renderRecent();
    const newest = snapshot.recent_calls[0];
    if (!newest) return;
    const latest = state.latest;
    if (!latest || Date.parse(newest.at) > Date.parse(latest.at)) {
      // a call we did not hear (e.g. while offline): show it, without flashing or a caption we do not know
      showLatest({ ...newest, text: latest?.number === newest.number ? latest.text : "" }, false);
    }
  }

  function start() {
    addEventListener("resize", fit);
    fit();
    if (!hallq.token("display")) {
      hallq.fatal("本设备未授权：请用管理员提供的带令牌的地址打开", "例如 http://服务器地址/display#token=……");
      return;
    }
    hallq.clock($("clock"), $("date"));
    state.socket = hallq.connect({
      snapshot: applySnapshot,
      called: onCalled,
      unauthorized: () => {
        state.socket?.disconnect();
        hallq.fatal("本设备令牌无效或已被更换", "请用管理员提供的带令牌的新地址重新打开本页面");
      },
    });
  }

  start();
})();
