/* The printable A4 pages (a case's notice, the day's appointment register): their buttons print or close the page.
 * A file of its own because the Content-Security-Policy allows no inline script or onclick. */
(() => {
  "use strict";
  for (const button of document.querySelectorAll("[data-page-action]")) {
    button.addEventListener("click", () => (button.dataset.pageAction === "close" ? window.close() : window.print()));
  }
})();
