/* /admin/stats: the figures of GET /api/stats for a day or a range, as tiles, charts (Chart.js, vendored) and
 * tables, with the same figures as CSV and Excel. window.hallqCharts holds the charts (for tests and checks). */
(() => {
  "use strict";
  const { h } = hallq;
  const { pct, minutes, value, table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);
  const LEVELS = { ...hallq.words.rating_levels, unrated: hallq.words.unrated };
  const NO_SHOW = hallq.words.ticket_status.no_show;
  const LEVEL_COLOURS = ["#146c2e", "#43a047", "#0d47a1", "#e08a00", "#b3261e", "#9aa8bc"];
  const BLUE = "#0d47a1";
  const ORANGE = "#ff9f1a";
  window.hallqCharts = {};

  /** [first, last] day of a quick range, counted from the hall's today (not the device's). */
  function range(kind) {
    const today = hallq.today();
    const monthStart = `${today.slice(0, 8)}01`;
    if (kind === "week") return [hallq.addDays(today, -((hallq.weekday(today) + 6) % 7)), today];
    if (kind === "month") return [monthStart, today];
    if (kind === "last-month") {
      const lastMonthEnd = hallq.addDays(monthStart, -1);
      return [`${lastMonthEnd.slice(0, 8)}01`, lastMonthEnd];
    }
    return [today, today];
  }

  function setRange(kind) {
    [$("from").value, $("to").value] = range(kind);
    load();
  }

  async function load() {
    const query = `from=${$("from").value}&to=${$("to").value}`;
    $("export-csv").href = `/api/stats.csv?${query}`;
    $("export-xlsx").href = `/api/stats.xlsx?${query}`;
    let report;
    try {
      report = await hallq.api("GET", `/api/stats?${query}`);
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    render(report);
  }

  function tile(label, main, note = "", kind = "") {
    return h("div", { class: `stat-tile${kind ? ` is-${kind}` : ""}` }, h("span", { class: "stat-label" }, label),
      h("strong", { class: "stat-value" }, main), h("span", { class: "stat-note" }, note));
  }

  function render(report) {
    const t = report.total;
    const target = report.formula.target_rate;
    const rate = t.satisfaction_rate;
    $("stats-period").textContent = report.from === report.to ? `统计日期：${report.from}`
      : `统计期间：${report.from} 至 ${report.to}（${report.days} 天）`;
    $("tiles").replaceChildren(
      tile("取号", value(t.issued), "人次"), tile("办结", value(t.served), "件"),
      tile(NO_SHOW, value(t.no_show), "次"), tile("转移", value(t.transferred), "次"),
      tile("平均等候", minutes(t.waiting.mean), `分钟 · 中位 ${minutes(t.waiting.median)} · P90 ${minutes(t.waiting.p90)}`),
      tile("平均办理", minutes(t.service_time.mean), `分钟 · 中位 ${minutes(t.service_time.median)} · P90 ${minutes(t.service_time.p90)}`),
      tile("满意率", pct(rate), `目标 ${pct(target)} · 评价 ${t.rated} 件 · 未评价 ${t.ratings.unrated}`,
        rate === null ? "" : rate >= target ? "ok" : "bad"),
      tile("即办件占比", pct(t.immediate_share), `即办件 ${t.cases.immediate} / 办件 ${Object.values(t.cases).reduce((a, b) => a + b, 0)}`),
      tile("承诺件按时办结率", pct(t.promised.on_time_rate), `按时 ${t.promised.on_time} · 逾期 ${t.promised.late} · 超期未办 ${t.promised.overdue}`,
        t.promised.overdue ? "bad" : ""),
      tile("预约履约率", pct(t.appointments.kept_rate), `签到 ${t.appointments.checked_in} · 失约 ${t.appointments.forfeited}`),
      tile("延时服务", value(report.extended.days), `天 · ${report.extended.sessions} 次 · 服务 ${report.extended.served} 人 · ${report.extended.minutes} 分钟`));
    charts(report);
    tables(report);
    $("formula").textContent = `${report.formula.text}。等候时间：取号（转移后为转入时间）至首次呼叫；办理时间：开始办理（未点开始办理则为呼叫）至办结。P90：90% 的群众不超过此时间。`;
  }

  function chart(id, config) {
    window.hallqCharts[id]?.destroy();
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 16;
    window.hallqCharts[id] = new Chart($(id), { ...config, options: { responsive: true, maintainAspectRatio: false,
      animation: false, ...config.options } });
  }

  function charts(report) {
    const hours = report.arrivals_by_hour;
    const used = hours.map((n, hour) => [hour, n]).filter(([, n]) => n > 0).map(([hour]) => hour);
    const first = used.length ? Math.min(...used) : 8;
    const last = used.length ? Math.max(...used) : 17;
    const span = Array.from({ length: last - first + 1 }, (_, k) => first + k);
    chart("chart-hours", { type: "bar", data: { labels: span.map((hr) => `${hr}时`),
      datasets: [{ label: "取号", data: span.map((hr) => hours[hr]), backgroundColor: BLUE }] },
    options: { plugins: { legend: { display: false } } } });
    const levels = Object.keys(LEVELS);
    chart("chart-ratings", { type: "doughnut", data: { labels: levels.map((l) => LEVELS[l]),
      datasets: [{ data: levels.map((l) => report.total.ratings[l]), backgroundColor: LEVEL_COLOURS }] },
    options: { plugins: { legend: { position: "right" } } } });
    $("chart-services").parentElement.style.height = `${Math.max(300, 26 * report.by_service.length + 40)}px`;
    chart("chart-services", { type: "bar", data: { labels: report.by_service.map((s) => s.name),
      datasets: [{ label: "办结", data: report.by_service.map((s) => s.served), backgroundColor: BLUE }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { y: { ticks: { autoSkip: false } } } } });
    chart("chart-windows", { type: "bar", data: { labels: report.by_window.map((w) => w.name), datasets: [
      { label: "平均等候", data: report.by_window.map((w) => toMinutes(w.waiting.mean)), backgroundColor: ORANGE },
      { label: "平均办理", data: report.by_window.map((w) => toMinutes(w.service_time.mean)), backgroundColor: BLUE }] } });
    $("days-figure").hidden = report.by_day.length < 2;
    if (report.by_day.length >= 2) {
      chart("chart-days", { type: "line", data: { labels: report.by_day.map((d) => d.key.slice(5)), datasets: [
        { label: "取号", data: report.by_day.map((d) => d.issued), borderColor: BLUE, backgroundColor: BLUE, yAxisID: "y" },
        { label: "办结", data: report.by_day.map((d) => d.served), borderColor: "#43a047", backgroundColor: "#43a047", yAxisID: "y" },
        { label: "满意率 %", data: report.by_day.map((d) => (d.satisfaction_rate === null ? null : d.satisfaction_rate * 100)),
          borderColor: ORANGE, backgroundColor: ORANGE, yAxisID: "rate" }] },
      options: { scales: { y: { beginAtZero: true }, rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false } } } } });
    } else {
      window.hallqCharts["chart-days"]?.destroy();
      delete window.hallqCharts["chart-days"];
    }
  }

  const toMinutes = (seconds) => (seconds === null ? null : Math.round(seconds / 6) / 10);

  const HEAD = ["办结", NO_SHOW, "转移", "平均等候", "等候中位", "等候P90", "平均办理", "办理中位", "办理P90", "评价", "满意率",
    "即办件占比", "承诺件按时率"];
  const cells = (g) => [value(g.served), value(g.no_show), value(g.transferred), minutes(g.waiting.mean),
    minutes(g.waiting.median), minutes(g.waiting.p90), minutes(g.service_time.mean), minutes(g.service_time.median),
    minutes(g.service_time.p90), value(g.rated), pct(g.satisfaction_rate), pct(g.immediate_share),
    pct(g.promised.on_time_rate)];

  function tables(report) {
    table($("table-service"), ["事项", "取号", ...HEAD, "预约履约率"],
      report.by_service.map((g) => [g.name, value(g.issued), ...cells(g), pct(g.appointments.kept_rate)]));
    table($("table-window"), ["窗口", ...HEAD], report.by_window.map((g) => [g.name, ...cells(g)]));
    table($("table-clerk"), ["工作人员", "工号", ...HEAD], report.by_clerk.map((g) => [g.name, g.staff_no, ...cells(g)]));
  }

  function start() {
    for (const button of document.querySelectorAll("[data-range]")) {
      button.addEventListener("click", () => setRange(button.dataset.range));
    }
    $("query").addEventListener("click", load);
    const params = new URLSearchParams(location.search);
    if (params.get("from") && params.get("to")) {
      $("from").value = params.get("from");
      $("to").value = params.get("to");
      load();
    } else {
      setRange("today");
    }
  }

  hallqAdmin.ready(start);
})();
