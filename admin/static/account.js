/* /account: every staff member changes their own password (the old one required). */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const HOME = { admin: "/admin/stats", guide: "/guide", clerk: "/caller" };

  async function start() {
    hallq.clock($("clock"), null, true);
    let me = null;
    try {
      me = await hallq.api("GET", "/api/auth/me");
    } catch (err) {
      if (err.status !== 401) hallq.toast(err.message);
    }
    if (!me) {
      showLogin();
      return;
    }
    $("login").hidden = true;
    $("account").hidden = false;
    $("account-user").textContent = `${me.user.name}（${me.user.username}）`;
    $("account-username").value = me.user.username;
    $("account").onsubmit = (event) => change(event, me.user);
    $("old-password").focus();
  }

  function showLogin() {
    $("login").hidden = false;
    $("login").onsubmit = async (event) => {
      event.preventDefault();
      try {
        await hallq.api("POST", "/api/auth/login", { username: $("username").value.trim(), password: $("password").value });
      } catch (err) {
        $("login-error").textContent = err.message;
        return;
      }
      $("password").value = "";
      start();
    };
    $("username").focus();
  }

  async function change(event, user) {
    event.preventDefault();
    if ($("new-password").value !== $("new-password-2").value) {
      $("account-error").textContent = "两次输入的新密码不一致";
      return;
    }
    try {
      await hallq.api("POST", "/api/auth/password",
        { old: $("old-password").value, new: $("new-password").value });
    } catch (err) {
      $("account-error").textContent = err.message;
      return;
    }
    for (const id of ["old-password", "new-password", "new-password-2"]) $(id).value = "";
    $("account").hidden = true;
    const done = $("account-done");
    done.hidden = false;
    done.replaceChildren("密码已修改。", hallq.h("a", { href: HOME[user.role] || "/" }, "返回工作页面"));
  }

  start();
})();
