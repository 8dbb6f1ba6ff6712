/* /district/live: each hall's line now, updated from the Socket.IO pushes the district makes after each batch it
 * applies (only to logged-in district admins: the server refuses the socket of anyone else). */
(() => {
  "use strict";
  const dash = (v) => (v === null || v === undefined ? "—" : String(v));

  function seen(el, iso) {
    el.dataset.seen = iso || "";
    el.textContent = iso ? `最后上报 ${hallq.time(iso, true)}` : "尚未上报";
  }

  function show(hall) {
    const card = document.querySelector(`.live-hall[data-hall="${CSS.escape(hall.code)}"]`);
    if (!card) return;
    card.querySelector(".live-waiting").textContent = dash(hall.waiting);
    card.querySelector(".live-in-service").textContent = dash(hall.in_service);
    card.querySelector(".live-windows").textContent = hall.windows_open === null ? "—" : `${hall.windows_open} / ${hall.windows}`;
    seen(card.querySelector(".live-seen"), hall.last_seen_at);
    card.dataset.updated = String(Date.now());
  }

  for (const el of document.querySelectorAll(".live-seen")) seen(el, el.dataset.seen);
  const socket = io({ transports: ["websocket"], reconnection: true, reconnectionDelay: 1000, reconnectionDelayMax: 5000 });
  const root = document.documentElement;
  socket.on("connect", () => { root.dataset.socket = "connected"; });
  socket.on("disconnect", () => { root.dataset.socket = "offline"; });
  socket.on("connect_error", () => {
    root.dataset.socket = "offline";
    if (!socket.active) location.assign(`/district/login?next=${encodeURIComponent("/district/live")}`);
  });
  socket.on("live", show);
})();
