/* /admin/staff: the staff accounts — add, correct name, 工号, role and 党员, reset a password, disable and enable. */
(() => {
  "use strict";
  const { h } = hallq;
  const { table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);
  const ROLES = hallq.words.staff_roles;
  const state = { editing: null, resetting: null, me: null };

  async function load() {
    let staff;
    try {
      ({ staff } = await hallq.api("GET", "/api/staff"));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    table($("staff"), ["用户名", "姓名", "工号", "角色", hallq.words.party_member, "状态", "操作"], staff.map((s) => [
      s.username, s.name, s.staff_no || "—", ROLES[s.role] || s.role, s.party_member ? hallq.words.party_member : "—",
      h("span", { class: s.disabled ? "is-overdue" : "" }, s.disabled ? "已停用" : s.locked ? "暂缓登录（多次输错密码）" : "正常"),
      h("span", { class: "row-actions" },
        h("button", { class: "btn", type: "button", onclick: () => openEdit(s) }, "修改"),
        h("button", { class: "btn", type: "button", onclick: () => openReset(s) }, "重置密码"),
        s.username === state.me ? "" : s.disabled
          ? h("button", { class: "btn", type: "button", onclick: () => act(s, "enable", "已启用") }, "启用")
          : h("button", { class: "btn btn-danger", type: "button", onclick: () => act(s, "disable", "已停用") }, "停用")),
    ]));
    $("staff").querySelectorAll("tbody tr").forEach((row, i) => { row.dataset.username = staff[i].username; });
  }

  function openEdit(member) {
    state.editing = member;
    $("staff-title").textContent = member ? `修改 ${member.username}` : "添加工作人员";
    $("staff-username").value = member ? member.username : "";
    $("staff-username").disabled = Boolean(member);
    $("staff-name").value = member ? member.name : "";
    $("staff-no").value = member ? member.staff_no : "";
    $("staff-role").value = member ? member.role : "clerk";
    $("staff-party").checked = Boolean(member?.party_member);
    $("staff-password-field").hidden = Boolean(member);
    $("staff-password").required = !member;
    $("staff-password").value = "";
    $("staff-error").textContent = "";
    $("staff-dialog").showModal();
    (member ? $("staff-name") : $("staff-username")).focus();
  }

  async function save(event) {
    event.preventDefault();
    const member = state.editing;
    const fields = { name: $("staff-name").value.trim(), staff_no: $("staff-no").value.trim(), role: $("staff-role").value,
      party_member: $("staff-party").checked };
    try {
      if (member) {
        await hallq.api("PATCH", `/api/staff/${encodeURIComponent(member.username)}`, fields);
      } else {
        await hallq.api("POST", "/api/staff", { ...fields, username: $("staff-username").value.trim(),
          password: $("staff-password").value, name: fields.name || null });
      }
    } catch (err) {
      $("staff-error").textContent = err.message;
      return;
    }
    $("staff-dialog").close();
    hallq.toast(member ? `${member.username} 已修改` : `${$("staff-username").value.trim()} 已添加`, "ok", 3000);
    load();
  }

  function openReset(member) {
    state.resetting = member;
    $("reset-who").textContent = `${member.name}（${member.username}）`;
    $("reset-password").value = "";
    $("reset-error").textContent = "";
    $("reset-dialog").showModal();
    $("reset-password").focus();
  }

  async function reset(event) {
    event.preventDefault();
    const member = state.resetting;
    try {
      await hallq.api("POST", `/api/staff/${encodeURIComponent(member.username)}/password`,
        { password: $("reset-password").value });
    } catch (err) {
      $("reset-error").textContent = err.message;
      return;
    }
    $("reset-dialog").close();
    hallq.toast(`${member.username} 的密码已重置`, "ok", 3000);
    load();
  }

  async function act(member, action, done) {
    if (action === "disable" && !window.confirm(`停用 ${member.name}（${member.username}）？停用后不能登录，已登录的会被退出。`)) return;
    try {
      await hallq.api("POST", `/api/staff/${encodeURIComponent(member.username)}/${action}`);
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    hallq.toast(`${member.username} ${done}`, "ok", 3000);
    load();
  }

  hallqAdmin.ready((user) => {
    state.me = user.username;
    $("staff-add").addEventListener("click", () => openEdit(null));
    $("staff-form").addEventListener("submit", save);
    $("reset-form").addEventListener("submit", reset);
    for (const dialog of [$("staff-dialog"), $("reset-dialog")]) {
      dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    }
    load();
  });
})();
