/* /admin/health: what works and why not (GET /api/health), in words: the database, the voice, the printers, the
 * server processes and the event log shipped to the district (区级上报: how far behind, the last error). */
(() => {
  "use strict";
  const { table } = hallqAdmin;
  const REFRESH_MS = 10000;

  const state = (ok) => (ok ? "正常" : "异常");
  const when = (iso) => `${hallq.dayOf(iso)} ${hallq.time(iso)}`;

  /** 区级上报 in one line: where the district's copy ends and how far behind it is. */
  function district(d) {
    if (!d) return [state(true), "未配置（config.toml 中没有 [district] url）"];
    if (!d.ships) return [state(true), `由本中心的另一服务进程上报至 ${d.code}`];
    if (d.through === null) {
      return [state(!d.last_error), d.last_error ? `尚未连上区级服务器：${d.last_error}` : "正在连接区级服务器"];
    }
    const last = d.last_shipped_at ? `最近一次上报 ${when(d.last_shipped_at)}` : "本次启动后尚无新事件上报";
    const error = d.last_error ? `，错误：${d.last_error}` : "";
    return [state(!d.last_error),
      `已同步至事件 ${d.through}，落后 ${d.behind_events} 条 / ${d.behind_seconds} 秒，${last}${error}`];
  }

  function rows(health) {
    const faults = health.printers.faults.map((f) => `${f.name}：${f.message}`);
    return [
      ["数据库", state(health.database.ok), health.database.error || "—"],
      ["语音播报", state(health.voice.ok), health.voice.error || health.voice.voice || "—"],
      ["打印机", state(health.printers.ok), faults.join("；") || health.printers.desk_note || "—"],
      ["服务进程", state(true), `${health.cluster.process}（${health.cluster.processes === "one" ? "单进程" : "多进程"}）`],
      ["区级上报", ...district(health.district)],
    ];
  }

  async function load() {
    try {
      table(document.getElementById("health"), ["项目", "状态", "说明"], rows(await hallq.api("GET", "/api/health")));
    } catch (err) {
      hallq.toast(err.message);
    }
  }

  hallqAdmin.ready(() => {
    load();
    setInterval(load, REFRESH_MS);
  });
})();
