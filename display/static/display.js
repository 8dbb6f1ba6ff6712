/* The waiting-area TV: a 1920×1080 stage, scaled to the screen, redrawn from every snapshot; every call is
 * announced, one at a time, with its caption. */
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
  const WINDOW_STATE = hallq.words.window_state_public;

  // announcements
  const CHIME = "/audio/chime.wav";
  const START_LIMIT_MS = 20000;   // an announcement's audio that has not started playing by then has failed
  const CHIME_START_MS = 5000;
  const SOUND_MAX_S = 60;         // once playing, a sound may last its own length (at most this) ...
  const END_MARGIN_MS = 3000;     // ... plus this, then it counts as failed
  const CAPTION_MIN_MS = 3000;    // a caption stays at least this long; after a chime alone, this long after it
  const REPEAT_GAP_MS = 600;      // between two readings of the sentence
  const FADE_STEPS = 5;           // a chime cut short fades out in this many steps ...
  const FADE_STEP_MS = 20;        // ... of this long
  const LEAD_MS = 150;            // from deciding on a sound to hearing it (fetch, decode): for togetherCount
  const PLAN_MARGIN_MS = 1500;    // togetherCount plans every call this much inside the budget (lengths vary)
  const TOGETHER_MAX = 8;         // calls read together at most (the server's limit too)
  const STALE_MS = 30000;         // a call older than this (server clock) is shown but not announced
  const QUEUE_MAX = 30;           // pending announcements kept; beyond, the oldest are dropped
  const SEEN_MAX = 500;           // calls remembered to never announce one twice
  const RECONNECT_MAX_MS = 3000;  // back on screen within ~3 s of the server

  /** Every `called` event received for this screen's zones, newest last: for tests and on-site checks. */
  window.hallqCalls = [];
  /** One entry a call announced, in call order: {number, window, text, audio, at (the server's call time), recall,
   * form, chime, started, spoken, ended, delay_ms, outcome}. started/spoken/ended are performance.now(): its first
   * sound (the chime, or its words), its words, its end (a call read together ends where the next one's words
   * begin). delay_ms: from `at` to `spoken` by the server's clock. form is "full" (alone: chime and the sentence
   * `repeat` times), "short" (the sentence once: calls were waiting) or "together" (read with other waiting calls
   * in one sentence); chime: the chime was heard before it. outcome is "played" (its audio), "chime" (voice off or
   * its audio failed: the chime and the caption), "blocked" (the browser refused to play sound: caption only) or
   * "failed" (not even the chime played: caption only). */
  window.hallqAnnouncements = [];

  const state = {
    latest: null, recent: [], flashTimer: null, socket: null,
    zones: null,          // from the `display` event; null: every zone
    snapshot: null,       // the last snapshot, redrawn when the zones arrive
    queue: [],            // announcements waiting their turn
    current: null,        // the announcement playing
    pumping: false,
    seen: new Set(),      // `${ticket id}@${at}` of every call queued
    soundBlocked: false,
    chimeCut: null,       // stops the lone call's chime when calls queue behind it
    announce: { chime: true, repeat: 2, withinMs: 15000 },  // from the `display` event ([voice] in config.toml)
    readingMs: 3200,      // how long one call's brisk sentence lasts, as last heard
    partMs: 2700,         // how long each call lasts when calls are read together, as last heard
  };

  function fit() {
    const stage = $("stage");
    if (!stage) return;
    const scale = Math.min(innerWidth / STAGE_W, innerHeight / STAGE_H);
    const left = (innerWidth - STAGE_W * scale) / 2;
    const top = (innerHeight - STAGE_H * scale) / 2;
    stage.style.transform = `translate(${left}px, ${top}px) scale(${scale})`;
  }

  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, Math.max(0, ms)); });
  const inZones = (zone) => !state.zones || state.zones.includes(zone);
  const push = (log, entry) => {
    log.push(entry);
    if (log.length > LOG_MAX) log.splice(0, log.length - LOG_MAX);
  };

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
    if (!inZones(event.zone)) return;  // the server sends only our zones' calls: this is a second guard
    const call = { id: event.ticket.id, number: event.ticket.number, window: event.window,
      window_name: event.window_name, zone: event.zone, text: event.text, audio: event.audio ?? null,
      recall: Boolean(event.recall), at: event.at };
    push(window.hallqCalls, { number: call.number, window: call.window, text: call.text, audio: call.audio,
      at: call.at });
    const others = state.recent.filter((c) => c.number !== call.number || c.window !== call.window);
    state.recent = [call, ...others].slice(0, RECENT_MAX);
    renderRecent();
    const tile = $("windows").querySelector(`[data-window="${call.window}"]`);
    if (tile?.dataset.status === "open") {  // at once; the snapshot that follows agrees
      tile.lastElementChild.replaceWith(h("div", { class: "win-number" }, call.number));
    }
    const fresh = enqueue(call);
    showLatest(call, fresh);  // the newest call at once; the caption bar follows the announcements
  }

  function renderRecent() {
    $("recent").replaceChildren(...state.recent.map((c) => h("li", {},
      h("span", { class: "r-number" }, c.number), h("span", { class: "r-window" }, c.window_name))));
  }

  // ------------------------------------------------------------------ announcements

  /** Queue a call for announcement, unless it was queued before or is too old to announce (a call from before a
   * reconnect: the snapshot shows it, nobody should hear it now). True when queued. */
  function enqueue(call) {
    const key = `${call.id}@${call.at}`;
    if (state.seen.has(key)) return false;
    state.seen.add(key);
    if (state.seen.size > SEEN_MAX) state.seen.delete(state.seen.values().next().value);
    const age = hallq.now().getTime() - Date.parse(call.at);
    if (age > STALE_MS) return false;
    call.waited = state.pumping;  // behind another announcement: never the full form
    state.queue.push(call);
    if (state.queue.length > QUEUE_MAX) state.queue.splice(0, state.queue.length - QUEUE_MAX);
    state.chimeCut?.();  // a chime is not finished while calls wait behind it
    pump();
    return true;
  }

  /** The only consumer of the queue: one announcement at a time, each awaited to its end. */
  async function pump() {
    if (state.pumping) return;
    state.pumping = true;
    try {
      while (state.queue.length) {
        try {
          await announceNext();
        } catch {
          // not expected (nothing below throws); the queue must not stall
        }
        state.current = null;
      }
    } finally {
      state.pumping = false;
      hideCaption();
    }
  }

  /** The next announcement, in the form the queue allows: alone, the full form (chime, the sentence `repeat`
   * times); with calls waiting, the sentence once, briskly (the server's [voice] busy_rate); and with more waiting
   * than can each be heard within the budget that way, several read together in one brisk sentence (see
   * togetherCount). A lone call whose chime is interrupted by new calls is read with them; a call that came while
   * another was announced is never read in the full form. */
  async function announceNext() {
    const call = state.queue.shift();
    const entry = call.entry || logEntry(call);
    call.entry = entry;
    if (!entry.chime) entry.started = performance.now();  // logged earlier for a group that did not play
    state.current = call;
    showCaption(call);
    if (!call.audio) {  // no voice: the chime and the caption
      entry.form = "full";
      await finish([entry], await fallback(call, entry));
      return;
    }
    if (!state.queue.length && !call.waited && !entry.chime) {
      entry.form = "full";
      if (state.announce.chime) {
        const rung = await playSound(CHIME, CHIME_START_MS, null, (cut) => { state.chimeCut = cut; });
        state.chimeCut = null;
        entry.chime = rung === "ended" || rung === "cut";
        if (state.queue.length) {  // calls came during the chime: this one is read with them
          entry.form = null;
          state.queue.unshift(call);
          return;
        }
      }
    }
    if (entry.form !== "full") {
      const group = [call, ...state.queue.splice(0, togetherCount() - 1)];
      if (await readBusy(group)) return;
      state.queue.unshift(...group.slice(1));  // the server could not make it, or it did not play: one by one
      entry.form = "short";
    }
    const outcome = await readOnce(call, entry);
    if (outcome !== "played") {
      await finish([entry], outcome === "failed" ? await fallback(call, entry) : outcome);
      return;
    }
    let readings = 1;
    while (entry.form === "full" && readings < state.announce.repeat && !state.queue.length) {
      await sleep(REPEAT_GAP_MS);
      if (state.queue.length || await readOnce(call, entry) !== "played") break;
      readings += 1;
    }
    if (readings < state.announce.repeat) entry.form = "short";  // calls came: the repeat is left out
    await finish([entry], "played");
  }

  function logEntry(call) {
    const entry = { number: call.number, window: call.window, text: call.text, audio: call.audio, at: call.at,
      recall: call.recall, form: null, chime: false, started: performance.now(), spoken: null, delay_ms: null,
      ended: null, outcome: null };
    push(window.hallqAnnouncements, entry);
    return entry;
  }

  /** Mark when `entry`'s words start being heard: `ms` after `start` (performance.now() of the sound's start). */
  function spoken(entry, start, ms) {
    if (entry.spoken !== null) return;
    entry.spoken = start + ms;
    entry.delay_ms = Math.round(hallq.now().getTime() + (entry.spoken - performance.now()) - Date.parse(entry.at));
  }

  /** The call's own sentence, once. "played", "blocked" or "failed". */
  async function readOnce(call, entry) {
    const result = await playSound(call.audio, START_LIMIT_MS, (at) => spoken(entry, at, 0));
    return result === "ended" ? "played" : result;
  }

  /** `group` read briskly as one sound, each caption shown when its call's part begins; learns how long that
   * takes. False (nothing heard) when the server cannot make the sound or it does not play: the calls are then
   * read one by one, each with its own sentence. */
  async function readBusy(group) {
    let made;
    try {
      made = await hallq.api("POST", "/api/announcements",
        { calls: group.map((c) => ({ number: c.number, window: c.window })) });
    } catch {
      return false;
    }
    const entries = group.map((c) => {
      c.entry ??= logEntry(c);
      c.entry.form = group.length > 1 ? "together" : "short";
      return c.entry;
    });
    const timers = [];
    let start = null;
    const result = await playSound(made.audio, START_LIMIT_MS, (at) => {
      start = at;
      group.forEach((c, i) => {
        spoken(c.entry, at, made.starts_ms[i]);
        timers.push(setTimeout(() => { state.current = c; showCaption(c); }, made.starts_ms[i]));
      });
    });
    timers.forEach(clearTimeout);
    if (result === "failed") {
      entries.forEach((entry) => Object.assign(entry, { form: null, spoken: null, delay_ms: null }));
      showCaption(group[0]);
      return false;
    }
    const now = performance.now();
    if (result === "ended" && group.length > 1) state.partMs = (now - start) / group.length;
    if (result === "ended" && group.length === 1) state.readingMs = now - start;
    entries.forEach((entry, i) => {  // a part ends where the next begins; a chime before it is its start
      if (!entry.chime) entry.started = entry.spoken ?? entry.started;
      entry.ended = entries[i + 1]?.spoken ?? now;
      entry.outcome = result === "ended" ? "played" : result;
    });
    if (result === "blocked") showUnlock();
    return true;
  }

  /** How many waiting calls (the head included) to read together now: the fewest that lets every waiting call
   * start being spoken within the budget, by the lengths heard so far; when none does, as many as allowed. */
  function togetherCount() {
    const waiting = [state.current, ...state.queue];
    const most = Math.min(waiting.length, TOGETHER_MAX);
    const fits = (count) => {
      let at = hallq.now().getTime() + LEAD_MS;
      return waiting.every((call, i) => {
        const inTime = at <= Date.parse(call.at) + state.announce.withinMs - PLAN_MARGIN_MS;
        at += (i < count && count > 1 ? state.partMs : state.readingMs) + (i >= count - 1 ? LEAD_MS : 0);
        return inTime;
      });
    };
    for (let count = 1; count < most; count += 1) {
      if (fits(count)) return count;
    }
    return most;
  }

  /** The chime and the caption a while longer (no voice, or the call's audio failed): the outcome. */
  async function fallback(call, entry) {
    const result = await playSound(CHIME, CHIME_START_MS);
    if (result !== "ended") return result;
    entry.chime = true;
    await sleep(CAPTION_MIN_MS);
    return "chime";
  }

  /** End the announcement of `entries`, its caption up at least CAPTION_MIN_MS. */
  async function finish(entries, outcome) {
    if (outcome === "blocked") showUnlock();
    await sleep(entries[0].started + CAPTION_MIN_MS - performance.now());
    const now = performance.now();
    for (const entry of entries) {
      entry.outcome = outcome;
      entry.ended = now;
    }
  }

  /** Play `url` once: "ended", "blocked" (autoplay refused), "failed" (404, decode error, or it did not start
   * within `startMs` or did not end within its own length + END_MARGIN_MS) or "cut" (stopped through `onStop`'s
   * argument, with a short fade). Always resolves, with the sound stopped by then. `onPlaying(at)`: the sound
   * started at performance.now() `at`. */
  function playSound(url, startMs, onPlaying = null, onStop = null) {
    return new Promise((resolve) => {
      const audio = new Audio();
      let done = false;
      let timer = null;
      const limit = (ms) => {
        clearTimeout(timer);
        timer = setTimeout(() => finish("failed"), ms);
      };
      const finish = (result) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        audio.onended = null;
        audio.onerror = null;
        audio.onplaying = null;
        audio.pause();
        audio.removeAttribute("src");
        audio.load();
        resolve(result);
      };
      limit(startMs);
      audio.onended = () => finish("ended");
      audio.onerror = () => finish("failed");
      audio.onplaying = () => {  // a slow speaking rate makes a long file: allow what is left of it from here
        const left = Number.isFinite(audio.duration) ? audio.duration - audio.currentTime : SOUND_MAX_S;
        limit(Math.min(Math.max(left, 0), SOUND_MAX_S) * 1000 + END_MARGIN_MS);
        onPlaying?.(performance.now() - 1000 * audio.currentTime);
        onPlaying = null;
      };
      let fading = false;
      onStop?.(() => {
        if (fading || done) return;
        fading = true;
        let steps = FADE_STEPS;
        const fade = setInterval(() => {
          steps -= 1;
          audio.volume = steps / FADE_STEPS;
          if (steps <= 0 || done) {
            clearInterval(fade);
            finish("cut");
          }
        }, FADE_STEP_MS);
      });
      audio.preload = "auto";
      audio.src = url;
      let playing;
      try {
        playing = audio.play();
      } catch (err) {
        finish(err?.name === "NotAllowedError" ? "blocked" : "failed");
        return;
      }
      playing?.then(() => {
        if (state.soundBlocked) hideUnlock();  // sound works again (e.g. unlocked by a tap)
      }, (err) => finish(err?.name === "NotAllowedError" ? "blocked" : "failed"));
    });
  }

  function showCaption(call) {
    $("caption-text").textContent = call.text || `请${call.number}号到${call.window_name}办理`;
    $("caption").dataset.number = call.number;
    $("caption").hidden = false;
    markCalledWindow();
  }

  function hideCaption() {
    $("caption").hidden = true;
    delete $("caption").dataset.number;
    markCalledWindow();
  }

  /** The tile of the window being announced gets a ring. */
  function markCalledWindow() {
    for (const tile of $("windows").children) {
      tile.classList.toggle("is-called", Number(tile.dataset.window) === state.current?.window);
    }
  }

  // 开启声音: the browser refused to play sound without a tap (a Chromium started without
  // --autoplay-policy=no-user-gesture-required). One tap unlocks sound for the page; the queue never waits for it.
  function showUnlock() {
    state.soundBlocked = true;
    $("unlock").hidden = false;
  }

  function hideUnlock() {
    state.soundBlocked = false;
    $("unlock").hidden = true;
  }

  function unlock() {
    hideUnlock();
    // play (silently) inside the tap: browsers that unlock per element or per gesture count this as the unlock
    const probe = new Audio(CHIME);
    probe.muted = true;
    probe.play().then(() => probe.pause(), () => { /* shown again by the next refused announcement */ });
  }

  // ------------------------------------------------------------------ the hall

  /** Each tile; in a hall of several zones, with its zone (二楼), so residents know where to go; a 党员服务岗 with
   * its red mark (场所设施标准 2.1.5: 设置显著标识). */
  function renderWindows(windows, zoned) {
    $("windows").replaceChildren(...windows.map((w) => {
      const current = w.current && ["called", "serving"].includes(w.current.status) ? w.current.number : null;
      const body = w.status === "open"
        ? h("div", { class: current ? "win-number" : "win-state" }, current || "请稍候")
        : h("div", { class: "win-state" }, WINDOW_STATE[w.status] || w.status);
      return h("div", { class: "win", dataset: { window: w.id, status: w.status } },
        h("div", { class: "win-head" },
          h("span", { class: "win-name" }, w.name, zoned && w.zone ? h("span", { class: "win-zone" }, w.zone) : null),
          h("span", { class: "win-sub" }, h("span", { class: "win-label" }, w.label),
            w.party_post ? h("span", { class: "party-badge" }, hallq.words.party_post) : null)),
        body);
    }));
    markCalledWindow();
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
    state.snapshot = snapshot;
    $("hall-name").textContent = snapshot.hall.name;
    document.title = `叫号大屏 · ${snapshot.hall.name}`;
    // the snapshot is hall-wide: keep our zones' windows, the calls of those windows ...
    const windows = snapshot.windows.filter((w) => inZones(w.zone));
    const ours = new Set(windows.map((w) => w.id));
    renderWindows(windows, snapshot.hall.zoned);
    // and the items those windows serve (all of them on a display of every zone)
    const served = new Set(windows.flatMap((w) => w.services || []));
    renderWaiting(state.zones ? snapshot.services.filter((s) => served.has(s.code)) : snapshot.services);
    renderNotice(snapshot.hall.notice || "");
    const calls = snapshot.recent_calls.filter((c) => ours.has(c.window));
    state.recent = calls.slice(0, RECENT_MAX);
    renderRecent();
    const newest = calls[0];
    if (!newest) return;
    const latest = state.latest;
    if (!latest || Date.parse(newest.at) > Date.parse(latest.at)) {
      // a call we did not hear (e.g. while offline): show it, without flashing or announcing it
      showLatest({ ...newest, text: newest.text || (latest?.number === newest.number ? latest.text : "") }, false);
    }
  }

  function onDisplay({ zones, announce }) {
    state.zones = Array.isArray(zones) && zones.length ? zones : null;
    if (announce) {
      state.announce = { chime: announce.chime !== false, repeat: Math.max(1, announce.repeat || 1),
        withinMs: 1000 * (announce.within_s || 15) };
    }
    const el = $("zones");
    el.textContent = state.zones ? state.zones.join("、") : "";
    el.hidden = !state.zones;
    if (state.snapshot) applySnapshot(state.snapshot);
  }

  function start() {
    addEventListener("resize", fit);
    fit();
    $("hall-name").after($("zones"));  // the zones follow the hall name in the header
    $("clock").parentElement.before($("unlock"));  // 开启声音 beside the clock, clear of the lists
    $("unlock-button").addEventListener("click", unlock);
    if (!hallq.token("display")) {
      hallq.fatal("本设备未授权：请用管理员提供的带令牌的地址打开", "例如 http://服务器地址/display#token=……");
      return;
    }
    hallq.clock($("clock"), $("date"));
    state.socket = hallq.connectDevice({ snapshot: applySnapshot, called: onCalled });
    state.socket.on("display", onDisplay);
    state.socket.io.reconnectionDelayMax?.(RECONNECT_MAX_MS);
  }

  start();
})();
