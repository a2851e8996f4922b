/* The intake queue page: a fix form sends {household_id, answers: {indicator: value}} to
   /v1/intake/submissions/{id}/fix; problems are shown beside their fields; on success the page reloads. */
"use strict";
(() => {
  function value(text) {
    const trimmed = text.trim();
    return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
  }

  document.querySelectorAll("form.intake-fix").forEach((form) => {
    const formError = form.querySelector(".form-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      const payload = {answers: {}};
      const household = form.elements.household_id.value.trim();
      if (/^\d+$/.test(household)) payload.household_id = Number(household);
      form.querySelectorAll("[data-answer]").forEach((input) => {
        if (input.value.trim() !== "") payload.answers[input.dataset.answer] = value(input.value);
      });
      App.clearErrors(form);
      App.busy(button, true);
      const response = await App.api("POST", `/v1/intake/submissions/${form.dataset.submission}/fix`, payload);
      App.busy(button, false);
      if (response.ok) { window.location.reload(); return; }
      if (response.status === 0 || !response.data) { formError.textContent = App.t("network_error"); return; }
      const marked = App.showErrors(form, response.data.errors || [], formError);
      if (!formError.textContent) {
        formError.textContent = marked.length ? App.t("form_has_errors") : response.data.detail;
      }
      App.focusFirst(marked);
    });
  });
})();
