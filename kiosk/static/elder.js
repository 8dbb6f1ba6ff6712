/* 长辈模式 at the kiosk: one large button on the home page turns on larger type, fewer tiles a screen and spoken
 * prompts — what each screen asks, the item chosen, the ticket's number and window — read by the hall's own offline
 * voice (POST /api/kiosk/prompts, the display's engine). It ends by itself when the kiosk goes home after 完成 or
 * the idle countdown: the next resident finds the normal kiosk. Listens to kiosk.js's `kiosk:*` events. */
(() => {
  "use strict";
  const button = document.getElementById("elder-mode");
  // what each page asks; the ticket page's prompt is the ticket itself (kiosk:ticket)
  const PAGE_PROMPTS = { home: "home", category: "category", appointment: "appointment" };
  // tiles a page in 长辈模式, [portrait, landscape]: two a row, a few rows, 上一页/下一页 for the rest
  const PAGE_SIZE = { categories: [4, 3], items: [3, 2] };
  const LANDSCAPE = matchMedia("(orientation: landscape)");
  const kiosk = window.hallqKiosk = window.hallqKiosk || {};
  kiosk.spoken = [];  // the sentences queued for speech, in order (read by the browser tests)

  let on = false;
  let order = Promise.resolve();  // prompts play in the order asked, whatever order their answers come in
  let waiting = [];               // WAVs to play after the current one
  let player = null;
  const pages = { categories: 0, items: 0 };  // the page of tiles shown, in 长辈模式

  function setOn(value) {
    on = value;
    document.body.classList.toggle("elder", on);
    button.setAttribute("aria-pressed", String(on));
    if (!on) hush();
    for (const id of Object.keys(pages)) showPage(id, 0);
  }

  /** Show page ``page`` of a set of tiles (all of them outside 长辈模式), and its pager when there are several. */
  function showPage(id, page) {
    const tiles = [...document.getElementById(id).children];
    const size = on ? PAGE_SIZE[id][LANDSCAPE.matches ? 1 : 0] : Math.max(tiles.length, 1);
    const count = Math.max(1, Math.ceil(tiles.length / size));
    pages[id] = Math.min(Math.max(page, 0), count - 1);
    tiles.forEach((tile, i) => { tile.hidden = Math.floor(i / size) !== pages[id]; });
    const pager = document.querySelector(`.elder-pager[data-for="${id}"]`);
    pager.hidden = count < 2;
    pager.querySelector(".elder-page-no").textContent = `第 ${pages[id] + 1} / ${count} 页`;
    pager.querySelector(".elder-prev").disabled = pages[id] === 0;
    pager.querySelector(".elder-next").disabled = pages[id] === count - 1;
  }

  function hush() {
    order = Promise.resolve();
    waiting = [];
    player?.pause();
    player = null;
  }

  /** Ask the server for a prompt's WAV and queue it; any failure (no voice, no server) leaves the kiosk silent. */
  function say(prompt, about = {}) {
    if (!on) return;
    const asked = hallq.api("POST", "/api/kiosk/prompts", { prompt, ...about });
    const turn = order;
    order = turn.then(() => asked).then(({ text, audio }) => {
      if (!on) return;
      kiosk.spoken.push(text);
      if (audio) {
        waiting.push(audio);
        if (!player) playNext();
      }
    }).catch(() => { /* silent: the screen says it all */ });
  }

  function playNext() {
    const audio = waiting.shift();
    if (!audio) {
      player = null;
      return;
    }
    const current = new Audio(audio);
    player = current;
    const next = () => { if (player === current) playNext(); };
    current.addEventListener("ended", next);
    current.addEventListener("error", next);  // no speakers, a WAV gone: the next one, or silence
    current.play().catch(next);
  }

  for (const id of Object.keys(pages)) {
    // kiosk.js rebuilds the tiles when the hall's items change: keep the page
    new MutationObserver(() => showPage(id, pages[id])).observe(document.getElementById(id), { childList: true });
    const pager = document.querySelector(`.elder-pager[data-for="${id}"]`);
    pager.querySelector(".elder-prev").addEventListener("click", () => showPage(id, pages[id] - 1));
    pager.querySelector(".elder-next").addEventListener("click", () => showPage(id, pages[id] + 1));
  }
  LANDSCAPE.addEventListener("change", () => { for (const id of Object.keys(pages)) showPage(id, pages[id]); });
  button.addEventListener("click", () => {
    setOn(!on);
    say("home");
  });
  document.addEventListener("kiosk:page", ({ detail }) => {
    if (detail.page === "category") showPage("items", 0);
    if (PAGE_PROMPTS[detail.page]) say(PAGE_PROMPTS[detail.page]);
  });
  document.addEventListener("kiosk:item", ({ detail }) => say("item", { service: detail.service }));
  document.addEventListener("kiosk:ticket", ({ detail }) => say("ticket", { ticket: detail.ticket }));
  document.addEventListener("kiosk:finished", () => setOn(false));

  Object.defineProperty(kiosk, "elder", { get: () => on, configurable: true });
})();
