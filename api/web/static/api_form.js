/* Forms that call the JSON API: <form data-api-url="/v1/..." data-api-method="POST" data-next="/app/...">.
   Named fields become the JSON body (empty ones are left out, `data-type="int"` ones sent as integers); the
   submit button's own name and value are sent too (decision buttons). Problems are shown beside the field whose
   `data-path` their path names, the others in the form's `.form-error`; nothing typed is lost. On success the
   page goes to `data-next`, in which `{name}` is the response's value of that name (without data-next it
   reloads). */
"use strict";
(() => {
  function body(form, submitter) {
    const payload = {};
    for (const element of form.elements) {
      if (!element.name || element.disabled || element.type === "submit") continue;
      if ((element.type === "radio" || element.type === "checkbox") && !element.checked) continue;
      const value = element.value.trim();
      if (value === "") continue;
      payload[element.name] = element.dataset.type === "int" && /^\d+$/.test(value) ? Number(value) : value;
    }
    if (submitter && submitter.name) payload[submitter.name] = submitter.value;
    return payload;
  }

  function next(form, data) {
    const target = form.dataset.next;
    if (!target) { window.location.reload(); return; }
    window.location.assign(target.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(data[name])));
  }

  document.querySelectorAll("form[data-api-url]").forEach((form) => {
    const formError = form.querySelector(".form-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = event.submitter || form.querySelector('button[type="submit"]');
      App.clearErrors(form);
      App.busy(button, true);
      const response = await App.api(form.dataset.apiMethod || "POST", form.dataset.apiUrl, body(form, event.submitter));
      App.busy(button, false);
      if (response.ok) { next(form, response.data || {}); return; }
      if (response.status === 0 || !response.data) {
        if (formError) formError.textContent = App.t("network_error");
        return;
      }
      const marked = App.showErrors(form, response.data.errors || [], formError);
      if (formError && !formError.textContent) {
        formError.textContent = marked.length ? App.t("form_has_errors") : (response.data.detail || App.t("error"));
      }
      App.focusFirst(marked);
    });
  });
})();
