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
    const hint = $("t-hint");
    hint.textContent = t.hint;
    hint.classList.toggle("is-soon", t.soon);
    $("t-updated").textContent = t.updated_at.slice(11, 19);
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
  setTimeout(refresh, delay);
})();
