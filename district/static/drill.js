/* A hall's drill-down runs the hall's own statistics page (admin/static/stats.js) as it is: the district's login
 * was checked by the server before the page was served, so the page starts at once. */
(() => {
  "use strict";
  window.hallqAdmin.ready = (start) => start();
})();
