/* The small screen above a window (/window/<id>): the number at the window, the clerk, 今日已办, the marks of a
 * 党员服务岗 and of a clerk who is a 党员. A 1280×400
 * stage scaled to the screen's height, stretched to its width (1920×540 shows the same, wider). */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("ws");
  if (!root) return;  // an unknown window: the page says so itself

  const STAGE_W = 1280;
  const STAGE_H = 400;
  const FLASH_MS = 6000;
  const windowId = Number(root.dataset.window);
  const STATUS = hallq.words.window_state_public;
  const TICKET = hallq.words.window_now;
  const state = { socket: null, flashTimer: null };

  function setText(id, text) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  function render(w) {
    setText("ws-name", w.name);
    setText("ws-label", w.label || "");
    document.title = `${w.name} · 窗口屏`;
    const ticket = w.current && TICKET[w.current.status] ? w.current : null;
    const now = $("ws-now");
    now.dataset.status = w.status;
    const number = $("ws-number");
    if (w.status !== "open") {
      setText("ws-number", STATUS[w.status] || w.status);
      number.classList.add("is-state");
      $("ws-now-label").hidden = true;
    } else if (ticket) {
      setText("ws-number", ticket.number);
      number.classList.remove("is-state");
      setText("ws-now-label", TICKET[ticket.status]);
      $("ws-now-label").hidden = false;
    } else {
      setText("ws-number", "请稍候");
      number.classList.add("is-state");
      $("ws-now-label").hidden = true;
    }
    setText("ws-clerk-name", w.clerk?.name || "—");
    setText("ws-clerk-no", w.clerk?.staff_no ? `工号 ${w.clerk.staff_no}` : "");
    setText("ws-served", `今日已办 ${w.served_today ?? 0} 件`);
    mark("ws-party-post", w.party_post, hallq.words.party_post);
    mark("ws-clerk-party", w.clerk?.party_member, hallq.words.party_member);
  }

  /** 党员服务岗 on the window, 党员 by the clerk signed in (场所设施标准 2.1.5: 党员“亮身份”). */
  function mark(id, shown, text) {
    setText(id, shown ? text : "");
    $(id).hidden = !shown;
  }

  function applySnapshot(snapshot) {
    setText("ws-hall", snapshot.hall.name);
    const w = snapshot.windows.find((x) => x.id === windowId);
    if (!w) {
      state.socket?.disconnect();
      hallq.fatal(`没有 ${windowId} 号窗口`, "请检查地址：/window/窗口编号，编号见大厅配置");
      return;
    }
    render(w);
  }

  function onCalled(event) {
    if (event.window !== windowId) return;
    const now = $("ws-now");
    if (now.dataset.status === "open") {  // shown at once; the snapshot that follows agrees
      setText("ws-number", event.ticket.number);
      $("ws-number").classList.remove("is-state");
      setText("ws-now-label", TICKET.called);
      $("ws-now-label").hidden = false;
    }
    now.classList.remove("flash");
    void now.offsetWidth;  // restart the animation
    now.classList.add("flash");
    clearTimeout(state.flashTimer);
    state.flashTimer = setTimeout(() => now.classList.remove("flash"), FLASH_MS);
  }

  function start() {
    hallq.fitStage(root, STAGE_W, STAGE_H);
    if (!hallq.token("windowscreen")) {
      hallq.fatal("本设备未授权：请用管理员提供的带令牌的地址打开",
        `例如 http://服务器地址/window/${windowId}#token=……（大屏设备的令牌）`);
      return;
    }
    hallq.clock($("clock"));
    state.socket = hallq.connectDevice({ snapshot: applySnapshot, called: onCalled });
  }

  start();
})();
