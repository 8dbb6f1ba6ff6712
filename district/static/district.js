/* The district's screens' shell: the clock in the district's time zone, and logout (every session of the account
 * ends). The pages are served to a logged-in district admin only: the server sends anyone else to the login. */
(() => {
  "use strict";
  hallq.clock(document.getElementById("clock"), null, true);
  document.getElementById("district-logout").addEventListener("click", async () => {
    try { await hallq.api("POST", "/district/api/v1/logout"); } catch (err) { hallq.toast(err.message); }
    location.assign("/district/login");
  });
})();
