// The resident's tracking page refreshes itself: no login, no socket, just a small JSON every few seconds.
(() => {
  "use strict";
  const root = document.getElementById("ticket");
  const every = Number(root.dataset.refresh || 5) * 1000;
  const $ = (id) => document.getElementById(id);
  let delay = every;

  function show(t) {
    $("t-number").textContent = t.number;
    $("t-service").textContent = t.service_name;
    const status = $("t-status");
    status.textContent = t.status_text;
    status.className = `t-status t-${t.status}`;
    $("t-ahead").hidden = t.waiting_ahead === null;
    $("t-count").textContent = t.waiting_ahead ?? "";
    $("t-wait").hidden = t.estimated_wait_minutes === null;
    $("t-minutes").textContent = t.estimated_wait_minutes ?? "";
    const hint = $("t-hint");
    hint.textContent = t.hint;
    hint.classList.toggle("is-soon", t.soon);
    $("t-windows").hidden = !t.windows_text;
    $("t-windows-text").textContent = t.windows_text || "";
    $("t-notice").hidden = !t.notice;
    $("t-notice").textContent = t.notice || "";
    $("t-updated").textContent = t.updated_at.slice(11, 19);
    showRating(t.rating);
  }

  // 一事一评 from the phone: once per ticket, after 办结 (the tablet at the window may have asked already)
  const rating = { level: null, reason: null, built: false, busy: false };

  function choice(container, items, isChosen, pick) {
    container.replaceChildren(...items.map((item) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `t-choice${isChosen(item) ? " is-chosen" : ""}`;
      button.textContent = item.label || item;
      button.addEventListener("click", () => pick(item));
      return button;
    }));
  }

  function renderRating(r) {
    const poor = rating.level && r.poor.includes(rating.level.code);
    choice($("t-levels"), r.levels, (l) => l === rating.level, (l) => { rating.level = l; rating.reason = null;
      renderRating(r); });
    $("t-why").hidden = !poor;
    if (poor) choice($("t-reasons"), r.reasons, (x) => x === rating.reason, (x) => { rating.reason = x; renderRating(r); });
    $("t-submit").disabled = rating.busy || !rating.level || (poor && !rating.reason);
  }

  function showRating(r) {
    $("t-rated").hidden = !r.level;
    $("t-rated").textContent = r.level ? `您的评价：${r.level}。感谢您的评价！` : "";
    $("t-rate").hidden = !r.open;
    if (r.open && !rating.built) {
      rating.built = true;
      renderRating(r);
      $("t-submit").onclick = () => submitRating(r);
    }
  }

  async function submitRating(r) {
    const body = { level: rating.level.code };
    if (r.poor.includes(rating.level.code)) {
      body.reason = rating.reason;
      if ($("t-text").value.trim()) body.comment = $("t-text").value.trim();
    }
    rating.busy = true;
    renderRating(r);
    try {
      const answer = await fetch(`${location.pathname}/rate`, { method: "POST", cache: "no-store",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await answer.json();
      if (!answer.ok) throw new Error(data.error?.message || "提交失败，请稍后重试");
      showRating({ ...r, open: false, level: data.rating.label });
    } catch (err) {
      $("t-rate-msg").textContent = err.message.startsWith("Failed") ? "网络中断，请稍后重试" : err.message;
    } finally {
      rating.busy = false;
      if (!$("t-rate").hidden) renderRating(r);
    }
  }

  async function refresh() {
    try {
      const answer = await fetch(`${location.pathname}/state`, { cache: "no-store" });
      if (!answer.ok) throw new Error(String(answer.status));
      show(await answer.json());
      $("t-offline").hidden = true;
      delay = every;
    } catch (_) {
      $("t-offline").hidden = false;
      delay = Math.min(delay * 2, 60000);  // a phone out of coverage: back off, keep trying
    }
    setTimeout(refresh, delay);
  }
  refresh();  // the first paint has no rating part yet
})();
