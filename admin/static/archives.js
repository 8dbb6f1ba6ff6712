/* /admin/archives: the month files of the duty log, the enquiry register and the closed complaints (档案), newest
 * first, each a download link (the browser sends the admin's session cookie). */
(() => {
  "use strict";
  const { h } = hallq;
  const { table } = hallqAdmin;
  const $ = (id) => document.getElementById(id);

  async function load() {
    let archives;
    try {
      ({ archives } = await hallq.api("GET", "/api/archives"));
    } catch (err) {
      hallq.toast(err.message);
      return;
    }
    $("archives-empty").hidden = archives.length > 0;
    table($("archives"), ["月份", "生成时间", "大小", "下载"], archives.map((a) => [
      a.month, `${hallq.dayOf(a.made_at)} ${hallq.time(a.made_at)}`, `${Math.max(1, Math.round(a.size / 1024))} KB`,
      h("a", { class: "btn", href: `/api/archives/${encodeURIComponent(a.name)}`, download: "" }, "下载 XLSX"),
    ]));
  }

  hallqAdmin.ready(load);
})();
