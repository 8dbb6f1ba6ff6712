/* /admin/stats: the figures of GET /api/stats for a day, a range, a quarter or a year, as tiles, charts (Chart.js,
 * vendored) and tables, the case deadlines and the staff assessment (考核) of each clerk and window, with the same
 * figures as CSV and Excel. The period is the page's query (?from=&to=, ?quarter=2026-Q4, ?year=2026, ?month=),
 * kept in the address. window.hallqCharts holds the charts (for tests and checks). */
(() => {
  "use strict";
  const { h } = hallq;
  const { pct, minutes, value, table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);
  const LEVELS = { ...hallq.words.rating_levels, unrated: hallq.words.unrated };
  const NO_SHOW = hallq.words.ticket_status.no_show;
  const LEVEL_COLOURS = ["#146c2e", "#43a047", "#0d47a1", "#e08a00", "#b3261e", "#9aa8bc"];
  const CASE = hallq.words.case_types;
  const DEDUCTIONS = hallq.words.assessment_deductions;
  const BLUE = "#0d47a1";
  const ORANGE = "#ff9f1a";
  /** Where the report comes from: the hall's /api/stats, or a hall's at the district (its drill-down). */
  const API = $("stats-controls").dataset.api;
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

  /** The period's query: from=&to=, quarter=YYYY-Qn, year=YYYY or month=YYYY-MM. */
  let period = "";

  function ask(query) {
    period = query;
    history.replaceState(null, "", `?${query}`);
    const [name, wanted] = query.split("=");
    for (const id of ["quarter", "year"]) {
      const select = $(id);
      if (name === id && ![...select.options].some((o) => o.value === wanted)) select.append(h("option", { value: wanted }, wanted));
      select.value = name === id ? wanted : "";
    }
    load();
  }

  function setRange(kind) {
    const [first, last] = range(kind);
    ask(`from=${first}&to=${last}`);
  }

  /** The last eight quarters and five years, counted from the hall's today, to choose from. */
  function periodChoices() {
    const today = hallq.today();
    const year = Number(today.slice(0, 4));
    const now = year * 4 + Math.floor((Number(today.slice(5, 7)) - 1) / 3);
    for (let k = 0; k < 8; k += 1) {
      const [y, q] = [Math.floor((now - k) / 4), ((now - k) % 4) + 1];
      $("quarter").append(h("option", { value: `${y}-Q${q}` }, `${y}年第${q}季度`));
    }
    for (let k = 0; k < 5; k += 1) $("year").append(h("option", { value: String(year - k) }, `${year - k}年`));
  }

  function periodName(report) {
    const [name, asked] = period.split("=");
    const days = `${report.from} 至 ${report.to}，${report.days} 天`;
    if (name === "quarter") return `统计期间：${asked.slice(0, 4)}年第${asked.slice(-1)}季度（${days}）`;
    if (name === "year") return `统计期间：${asked}年（${days}）`;
    return report.from === report.to ? `统计日期：${report.from}` : `统计期间：${report.from} 至 ${report.to}（${report.days} 天）`;
  }

  async function load() {
    $("export-csv").href = `${API}.csv?${period}`;
    $("export-xlsx").href = `${API}.xlsx?${period}`;
    let report;
    try {
      report = await hallq.api("GET", `${API}?${period}`);
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
    [$("from").value, $("to").value] = [report.from, report.to];
    $("stats-period").textContent = periodName(report);
    $("tiles").replaceChildren(
      tile("取号", value(t.issued), "人次"), tile("办结", value(t.served), "件"),
      tile(NO_SHOW, value(t.no_show), "次"), tile("转移", value(t.transferred), "次"),
      tile("平均等候", minutes(t.waiting.mean), `分钟 · 中位 ${minutes(t.waiting.median)} · P90 ${minutes(t.waiting.p90)}`),
      tile("平均办理", minutes(t.service_time.mean), `分钟 · 中位 ${minutes(t.service_time.median)} · P90 ${minutes(t.service_time.p90)}`),
      tile("满意率", pct(rate), `目标 ${pct(target)} · 评价 ${t.rated} 件 · 未评价 ${t.ratings.unrated}`,
        rate === null ? "" : rate >= target ? "ok" : "bad"),
      tile("即办件占比", pct(t.immediate_share), `选定即办件 ${t.immediate_chosen} / 选定类型的办件 ${Object.values(t.cases).reduce((a, b) => a + b, 0) - t.immediate_default} · 默认记录 ${t.immediate_default} 件不计入`),
      tile("承诺件按时办结率", pct(t.promised.on_time_rate), `按时 ${t.promised.on_time} · 逾期 ${t.promised.late} · 超期未办 ${t.promised.overdue} · 延期 ${t.promised.extended}`,
        t.promised.overdue ? "bad" : ""),
      tile("预约履约率", pct(t.appointments.kept_rate), `签到 ${t.appointments.checked_in} · 失约 ${t.appointments.forfeited}`),
      tile("延时服务", value(report.extended.days), `天 · ${report.extended.sessions} 次 · 服务 ${report.extended.served} 人 · ${report.extended.minutes} 分钟`));
    charts(report);
    tables(report);
    deadlines(t);
    assessment(report);
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

  const STAGE_HEAD = ["按时", "逾期办结", "超期未办", "未到期", "按时率"];
  const stage = (s) => [value(s.on_time), value(s.late), value(s.overdue), value(s.pending), pct(s.on_time_rate)];

  /** The deadlines of the period's cases (issue 16): 承诺件, 报批件 上报 and answer, 退回件 复核. */
  function deadlines(t) {
    const { promised, approval, review } = t;
    table($("table-deadlines"), ["", ...STAGE_HEAD, "备注"], [
      [CASE.promised, ...stage(promised), `共 ${promised.total} 件 · 延期 ${promised.extended} 件（${promised.extensions} 次）`],
      [`${CASE.approval}上报`, ...stage(approval.forward), `共 ${approval.total} 件`],
      [`${CASE.approval}批复后答复`, ...stage(approval.answer), `待批复 ${approval.answer.awaiting} 件`],
      [`${CASE.returned}复核`, ...stage(review), `申请复核 ${review.requested} 件`]]);
  }

  const ASSESS_HEAD = ["办结", "平均办理（分钟）", "满意率", "承诺件按时率", ...Object.values(DEDUCTIONS), "得分"];
  const assessCells = (g) => {
    const { deductions: d, missed, score } = g.assessment;
    return [value(g.served), minutes(g.service_time.mean), pct(g.satisfaction_rate), pct(g.promised.on_time_rate),
      `${g.complaints.upheld} 件 −${d.complaint}`, `${missed} 件次（${pct(g.assessment.missed_share)}）−${d.late}`,
      `${g.promised.extended} 件（${pct(g.assessment.extended_share)}）−${d.extension}`, `−${d.satisfaction}`,
      h("strong", {}, String(score))];
  };

  function assessment(report) {
    table($("table-assess-clerk"), ["工作人员", "工号", ...ASSESS_HEAD],
      report.by_clerk.map((g) => [g.name, g.staff_no, ...assessCells(g)]));
    table($("table-assess-window"), ["窗口", ...ASSESS_HEAD], report.by_window.map((g) => [g.name, ...assessCells(g)]));
    $("assessment-formula").textContent = `${report.assessment.text}。月、季度、年度的得分由该期间累计的件数重新计算（满意率亦然），窗口得分按同一公式由在该窗口办理的件数计算。`;
  }

  function start() {
    periodChoices();
    for (const button of document.querySelectorAll("[data-range]")) {
      button.addEventListener("click", () => setRange(button.dataset.range));
    }
    $("query").addEventListener("click", () => ask(`from=${$("from").value}&to=${$("to").value}`));
    for (const id of ["quarter", "year"]) {
      $(id).addEventListener("change", () => { if ($(id).value) ask(`${id}=${$(id).value}`); });
    }
    const params = new URLSearchParams(location.search);
    const named = ["quarter", "year", "month"].find((name) => params.get(name));
    if (named) {
      ask(`${named}=${params.get(named)}`);
    } else if (params.get("from") && params.get("to")) {
      ask(`from=${params.get("from")}&to=${params.get("to")}`);
    } else {
      setRange("today");
    }
  }

  hallqAdmin.ready(start);
})();
