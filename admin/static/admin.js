/* The admin pages' shell: the admin login (session cookie), the navigation, and helpers the pages share. */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);

  /** Call ``start(user)`` once an admin is logged in, after asking for the login when needed. */
  async function ready(start) {
    hallq.clock($("clock"), null, true);
    let me = null;
    try {
      me = await hallq.api("GET", "/api/auth/me");
    } catch (err) {
      if (err.status !== 401) {
        hallq.toast(err.message);
        setTimeout(() => ready(start), 5000);
        return;
      }
    }
    if (!me || me.user.role !== "admin") {
      showLogin(start, me ? "该账号不是管理员，请用管理员账号登录" : "");
      return;
    }
    $("admin-login").hidden = true;
    $("admin-nav").hidden = false;
    $("admin-page").hidden = false;
    $("admin-user").textContent = `${me.user.name}（${me.user.username}）`;
    start(me.user);
  }

  function showLogin(start, message) {
    const form = $("admin-login");
    form.hidden = false;
    $("login-error").textContent = message;
    form.onsubmit = async (event) => {
      event.preventDefault();
      try {
        await hallq.api("POST", "/api/auth/login", { username: $("username").value.trim(), password: $("password").value });
        $("password").value = "";
        ready(start);
      } catch (err) {
        $("login-error").textContent = err.message;
      }
    };
    $("username").focus();
  }

  $("admin-logout")?.addEventListener("click", async () => {
    try { await hallq.api("POST", "/api/auth/logout"); } catch (err) { hallq.toast(err.message); }
    location.reload();
  });

  const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(2)}%`);
  const minutes = (seconds) => (seconds === null || seconds === undefined ? "—" : (seconds / 60).toFixed(1));
  const value = (v) => (v === null || v === undefined ? "—" : String(v));

  /** A table from rows of cells; ``head`` the column titles. */
  function table(el, head, rows) {
    const { h } = hallq;
    el.replaceChildren(h("thead", {}, h("tr", {}, ...head.map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, ...rows.map((cells) => h("tr", {}, ...cells.map((cell) => h("td", {}, cell))))));
  }

  window.hallqAdmin = { ready, pct, minutes, value, table };
})();
