/* The district admin's login: on success, back to the page that asked for it (only one of the district's own). */
(() => {
  "use strict";
  const form = document.getElementById("login");
  const error = document.getElementById("login-error");
  const asked = new URLSearchParams(location.search).get("next") || "";
  const next = /^\/district\/(?!\/)/.test(asked) ? asked : "/district/";

  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("login-submit");
    button.disabled = true;
    error.textContent = "";
    try {
      await hallq.api("POST", "/district/api/v1/login", {
        username: document.getElementById("username").value.trim(),
        password: document.getElementById("password").value,
      });
      location.assign(next);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById("username").focus();
})();
