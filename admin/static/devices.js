/* /admin/devices: kiosks, displays and rating tablets — register, replace a token, revoke. A new token is shown
 * once, with the address that opens the device's screen and its QR code. */
(() => {
  "use strict";
  const { h } = hallq;
  const { table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);
  const KINDS = hallq.words.device_kinds;

  const when = (iso) => (iso ? `${hallq.dayOf(iso)} ${hallq.time(iso)}` : "从未连接");

  async function load() {
    let devices;
    try {
      ({ devices } = await hallq.api("GET", "/api/devices"));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    table($("devices"), ["名称", "类型", "绑定窗口", "最近连接", "状态", "操作"], devices.map((d) => [
      d.name, KINDS[d.kind] || d.kind,
      d.kind !== "evaluator" ? "—" : d.window ? `${d.window} 号窗口` : h("span", { class: "is-overdue" }, "未绑定"),
      when(d.last_seen_at),
      h("span", { class: d.revoked ? "is-overdue" : "" }, d.revoked ? "已吊销" : "正常"),
      h("span", { class: "row-actions" },
        h("button", { class: "btn", type: "button", onclick: () => replace(d) }, d.revoked ? "重新启用（新令牌）" : "更换令牌"),
        d.revoked ? "" : h("button", { class: "btn btn-danger", type: "button", onclick: () => revoke(d) }, "吊销")),
    ]));
    $("devices").querySelectorAll("tbody tr").forEach((row, i) => { row.dataset.device = devices[i].name; });
  }

  function showToken(issued) {
    $("token-device").textContent = `${issued.device.name}（${KINDS[issued.device.kind]}）`;
    $("token-address").textContent = issued.address
      || "该评价器尚未绑定窗口：请先在 config.toml 的 [[evaluation.evaluators]] 中设置，再在平板上打开 /rate/窗口编号#token=令牌";
    $("token-value").textContent = issued.token;
    $("token-qr").hidden = !issued.qr;
    $("token-qr").src = issued.qr || "";
    $("token-dialog").showModal();
    $("token-close").focus();
  }

  async function add(event) {
    event.preventDefault();
    let issued;
    try {
      issued = await hallq.api("POST", "/api/devices", { name: $("device-name").value.trim(), kind: $("device-kind").value });
    } catch (err) {
      $("device-error").textContent = err.message;
      return;
    }
    $("device-dialog").close();
    showToken(issued);
    load();
  }

  async function replace(device) {
    if (!window.confirm(`为 ${device.name} 更换令牌？旧令牌立即作废，需在设备上打开新地址。`)) return;
    try {
      showToken(await hallq.api("POST", `/api/devices/${encodeURIComponent(device.name)}/replace`));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    load();
  }

  async function revoke(device) {
    if (!window.confirm(`吊销 ${device.name}？该设备将立即无法使用。`)) return;
    try {
      await hallq.api("POST", `/api/devices/${encodeURIComponent(device.name)}/revoke`);
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    hallq.toast(`${device.name} 已吊销`, "ok", 3000);
    load();
  }

  hallqAdmin.ready(() => {
    $("device-add").addEventListener("click", () => {
      $("device-name").value = "";
      $("device-error").textContent = "";
      $("device-dialog").showModal();
      $("device-name").focus();
    });
    $("device-form").addEventListener("submit", add);
    $("device-dialog").querySelector("[data-close]").addEventListener("click", () => $("device-dialog").close());
    load();
  });
})();
