/* The administrator's pages: the fields a new user's role needs, tokens shown once after they are issued,
   revocations counted, and an Open Referral directory read from a file and imported. */
"use strict";
(() => {
  const role = document.getElementById("user-role");
  if (role) {
    const show = () => document.querySelectorAll("[data-for-role]").forEach((field) => {
      const wanted = field.dataset.forRole === role.value;
      field.hidden = !wanted;
      field.querySelectorAll("input, select").forEach((input) => { input.disabled = !wanted; });
    });
    role.addEventListener("change", show);
    show();
  }

  function showToken(place, token) {
    const result = place.querySelector(".token-result");
    result.querySelector(".token-box").textContent = token;
    result.hidden = false;
  }

  document.querySelectorAll('form[data-show="created"]').forEach((form) => form.addEventListener("api-form:done",
    (event) => showToken(form, event.detail.data.token)));
  document.querySelectorAll('form[data-show="token"]').forEach((form) => form.addEventListener("api-form:done",
    (event) => showToken(form.parentElement, event.detail.data.token)));
  document.querySelectorAll('form[data-show="revoked"]').forEach((form) => form.addEventListener("api-form:done",
    (event) => {
      form.parentElement.querySelector(".revoked").textContent = App.t("revoked_count", {count: event.detail.data.revoked});
      form.parentElement.querySelector(".token-result").hidden = true;
    }));

  const directory = document.getElementById("import-form");
  if (directory) {
    directory.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = directory.elements.file.files[0];
      const formError = directory.querySelector(".form-error");
      const report = document.getElementById("import-report");
      App.clearErrors(directory);
      report.hidden = true;
      if (!file) { formError.textContent = App.t("form_has_errors"); return; }
      let body;
      try { body = JSON.parse(await file.text()); } catch (error) { formError.textContent = App.t("not_json"); return; }
      const kind = directory.elements.default_kind.value;
      const button = directory.querySelector('button[type="submit"]');
      App.busy(button, true);
      const response = await App.api("POST", "/v1/directory" + (kind ? `?default_kind=${encodeURIComponent(kind)}` : ""), body);
      App.busy(button, false);
      if (!response.ok) {
        if (response.status === 0 || !response.data) { formError.textContent = App.t("network_error"); return; }
        const marked = App.showErrors(directory, response.data.errors || [], formError);
        if (!formError.textContent) formError.textContent = marked.length ? App.t("form_has_errors") : response.data.detail;
        return;
      }
      const data = response.data;
      report.querySelector(".summary").textContent = App.t("import_report", {added: data.added.length,
        updated: data.updated.length, unchanged: data.unchanged.length, refused: data.refused.length});
      const list = report.querySelector("ul");
      list.replaceChildren(...data.refused.map((entry) => {
        const item = document.createElement("li");
        item.textContent = `${entry.entry}${entry.name ? ` (${entry.name})` : ""}: ${App.message(entry)}`;
        return item;
      }));
      report.hidden = false;
    });
  }
})();
