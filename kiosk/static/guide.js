/* 办事指南 at the kiosk, the hall's 触摸查询器 (场所设施标准 3.5; the fields: 服务行为标准 1.2): a search by pinyin
 * initials on the on-screen letter keys (no physical keyboard in the hall), then an item's guide with 取号 (confirmed
 * by kiosk.js like every ticket). Loaded after kiosk.js, whose pages and countdowns it uses through hallq.kiosk. */
(() => {
  "use strict";
  const { h } = hallq;
  const kiosk = hallq.kiosk;
  const $ = (id) => document.getElementById(id);
  const SEARCH_IDLE_S = 45;  // finding letters on a keyboard takes an elderly resident a while
  const GUIDE_IDLE_S = 90;   // a guide is read, not tapped: materials and steps are long
  const SHOWN = 8;           // results above the keyboard; more letters narrow them

  const guide = { items: [], query: "", code: null, back: null };

  /** Items whose initials hold the letters typed, those starting with them first (SFZ finds 居民身份证核发, JM
   * finds it first); nothing typed: every item in config.toml's order. */
  function matches(query) {
    if (!query) return guide.items;
    const rank = (item) => Math.min(...item.initials.map((i) => {
      const at = i.indexOf(query);
      return at < 0 ? Infinity : at;
    }));
    return guide.items.map((item) => [rank(item), item]).filter(([r]) => r !== Infinity)
      .sort((a, b) => a[0] - b[0]).map(([, item]) => item);
  }

  function renderSearch() {
    $("guide-query").textContent = guide.query || "请按下方字母";
    $("guide-query").classList.toggle("is-empty", !guide.query);
    const found = matches(guide.query);
    $("guide-none").hidden = found.length > 0;
    $("guide-more").hidden = found.length <= SHOWN;
    $("guide-more").textContent = `另有 ${found.length - SHOWN} 项，请继续按字母缩小范围`;
    $("guide-results").replaceChildren(...found.slice(0, SHOWN).map((item) =>
      h("button", { class: "guide-result", type: "button", dataset: { guide: item.code },
        onclick: () => open(item.code, backToSearch) },
      h("span", { class: "guide-result-name" }, item.name),
      h("span", { class: "guide-result-initials" }, item.initials[0]))));
  }

  function openSearch() {
    if (!guide.items.length) load();  // the kiosk started while the server was unreachable
    guide.query = "";
    backToSearch();
  }

  function press(letter) {
    if (letter === "clear") guide.query = "";
    else if (letter === "back") guide.query = guide.query.slice(0, -1);
    else if (guide.query.length < 16) guide.query += letter;
    renderSearch();
  }

  /** One item's guide; a field the hall left empty is not shown rather than shown blank. ``back``: where 返回 goes
   * (the search, or the category the item's 指南 was opened from). */
  function open(code, back) {
    const item = guide.items.find((i) => i.code === code);
    if (!item) return;
    Object.assign(guide, { code, back });
    $("guide-name").textContent = item.name;
    for (const row of document.querySelectorAll(".guide-field")) {
      const value = item[row.dataset.field] || "";
      row.querySelector("dd").textContent = value;
      row.hidden = !value;
    }
    kiosk.show("guide-item");
    kiosk.startIdle(GUIDE_IDLE_S, $("guide-item-countdown"));
  }

  function backToSearch() {
    renderSearch();
    kiosk.show("guide-search");
    kiosk.startIdle(SEARCH_IDLE_S, $("guide-search-countdown"));
  }

  function load() {
    hallq.api("GET", "/api/kiosk/guide").then((answer) => {
      guide.items = answer.services;
      renderSearch();
    }).catch((err) => {
      if (err.status === 401) kiosk.unauthorized();
      else hallq.toast(err.message);
    });
  }

  $("guide-open").addEventListener("click", openSearch);
  $("guide-search-back").addEventListener("click", kiosk.goHome);
  $("guide-item-back").addEventListener("click", () => guide.back());
  $("guide-take").addEventListener("click", () => kiosk.confirmIssue(guide.code));
  for (const key of document.querySelectorAll(".letter")) key.addEventListener("click", () => press(key.dataset.letter));
  hallq.kioskGuide = { open };
  if (hallq.token("kiosk")) load();
})();
