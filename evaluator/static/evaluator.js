/* The rating tablet at a window (/rate/<id>): after each 办结 it asks 一事一评 with the five national levels, a
 * reason for the two poor ones, and counts down; the server records 未评价 when the time is up, whether or not this
 * page is on. A 1280×800 stage scaled to the tablet, or an 800×1280 one when the tablet stands upright. */
(() => {
  "use strict";
  const { h } = hallq;
  const $ = (id) => document.getElementById(id);
  const root = $("ev");
  if (!root) return;  // an unknown window: the page says so itself

  const STAGE_W = 1280;
  const STAGE_H = 800;
  const PORTRAIT = [800, 1280];
  const THANKS_MS = 6000;
  const windowId = Number(root.dataset.window);
  const state = { levels: [], reasons: [], poor: [], prompt: null, deadline: 0, timer: null, level: null,
    reason: null, busy: false, thanking: null };

  function show(step) {
    for (const id of ["ev-idle", "ev-ask", "ev-why", "ev-thanks"]) $(id).hidden = id !== `ev-${step}`;
    $("ev-countdown").hidden = !["ask", "why"].includes(step);
    root.dataset.step = step;
  }

  // ------------------------------------------------------------------ the prompt and its countdown

  function apply({ prompt }) {
    if (!prompt) {
      state.prompt = null;
      stopCountdown();
      if (!state.thanking) show("idle");
      return;
    }
    const fresh = state.prompt?.ticket !== prompt.ticket;
    state.prompt = prompt;
    state.deadline = Date.now() + prompt.seconds_left * 1000;
    if (!fresh) return;  // the same resident, maybe choosing a reason: keep their step
    clearTimeout(state.thanking);
    state.thanking = null;
    state.level = null;
    state.reason = null;
    $("ev-text").value = "";
    $("ev-number").textContent = prompt.number;
    $("ev-service").textContent = prompt.service_name;
    $("ev-clerk-name").textContent = prompt.clerk.name;
    $("ev-clerk-no").textContent = prompt.clerk.staff_no ? `（工号 ${prompt.clerk.staff_no}）` : "";
    show("ask");
    startCountdown();
  }

  function startCountdown() {
    stopCountdown();
    const tick = () => {
      const left = Math.max(0, Math.ceil((state.deadline - Date.now()) / 1000));
      $("ev-countdown").textContent = `${left} 秒后自动结束`;
      if (left === 0) {  // the server records 未评价 by itself
        state.prompt = null;
        stopCountdown();
        show("idle");
      }
    };
    tick();
    state.timer = setInterval(tick, 250);
  }

  function stopCountdown() {
    clearInterval(state.timer);
    state.timer = null;
  }

  // ------------------------------------------------------------------ choosing

  function choose(level) {
    if (state.busy || !state.prompt) return;
    state.level = level;
    if (!state.poor.includes(level.code)) {
      submit();
      return;
    }
    $("ev-chosen").textContent = level.label;
    state.reason = null;
    renderReasons();
    show("why");
  }

  function renderReasons() {
    $("ev-reasons").replaceChildren(...state.reasons.map((reason) => h("button", {
      class: `btn ev-reason${state.reason === reason ? " is-chosen" : ""}`, type: "button", "aria-pressed":
        state.reason === reason ? "true" : "false",
      onclick: () => { state.reason = reason; renderReasons(); },
    }, reason)));
    $("ev-submit").disabled = !state.reason || state.busy;
  }

  async function submit() {
    const prompt = state.prompt;
    if (!prompt || state.busy) return;
    state.busy = true;
    const poor = state.poor.includes(state.level.code);
    const body = { ticket: prompt.ticket, level: state.level.code };
    if (poor) body.reason = state.reason;
    const text = $("ev-text").value.trim();
    if (poor && text) body.comment = text;
    try {
      await hallq.api("POST", `/api/rate/${windowId}`, body);
      thank(state.level.label);
    } catch (err) {
      hallq.toast(err.message);
      if (err.status === 409 || err.status === 404) {  // already rated on the phone, or the time is up
        state.prompt = null;
        stopCountdown();
        show("idle");
      }
    } finally {
      state.busy = false;
      if (root.dataset.step === "why") renderReasons();
    }
  }

  function thank(label) {
    state.prompt = null;
    stopCountdown();
    $("ev-thanks-level").textContent = `您的评价：${label}`;
    show("thanks");
    clearTimeout(state.thanking);
    state.thanking = setTimeout(() => { state.thanking = null; if (!state.prompt) show("idle"); }, THANKS_MS);
  }

  // ------------------------------------------------------------------ start

  async function load() {
    let info;
    try {
      info = await hallq.api("GET", `/api/rate/${windowId}`);
    } catch (err) {
      if (err.status === 401) hallq.fatal("本设备令牌无效或已被更换", "请用管理员提供的带令牌的新地址重新打开本页面");
      else if (err.status === 403) hallq.fatal(err.message, "评价器与窗口的对应关系在 config.toml 的 [[evaluation.evaluators]] 中设置");
      else setTimeout(load, 5000);  // the server is not reachable yet: try again
      return;
    }
    Object.assign(state, { levels: info.levels, reasons: info.reasons, poor: info.poor });
    $("ev-window").textContent = info.window.name;
    $("ev-levels").replaceChildren(...state.levels.map((level) => h("button", {
      class: "btn ev-level", type: "button", dataset: { level: level.code }, onclick: () => choose(level),
    }, level.label)));
    apply(info);
    hallq.connectDevice({ rating_prompt: apply });  // every connect and reconnect brings the window's prompt
  }

  function start() {
    hallq.fitStage(root, STAGE_W, STAGE_H, PORTRAIT);
    if (!hallq.token("evaluator")) {
      hallq.fatal("本设备未授权：请用管理员提供的带令牌的地址打开",
        `例如 http://服务器地址/rate/${windowId}#token=……（评价器的令牌）`);
      return;
    }
    hallq.clock($("clock"));
    $("ev-back").addEventListener("click", () => { if (state.prompt) show("ask"); });
    $("ev-submit").addEventListener("click", submit);
    load();
  }

  start();
})();
