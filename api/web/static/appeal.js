/* Appealing a result: the reason, and the stored answers as the page shows them; when any answer was changed the
   whole set is sent as corrected answers (POST /v1/assessments/{id}/appeals), numbers typed sent as numbers and
   anything else as typed so the API names what is wrong. Problems are shown beside their question. */
"use strict";
(() => {
  const form = document.getElementById("appeal-form");
  if (!form) return;
  const data = JSON.parse(document.getElementById("appeal-data").textContent);
  const formError = document.getElementById("form-error");

  function shown(id, type) {
    if (type === "yes_no") {
      const checked = form.querySelector(`input[name="${id}"]:checked`);
      return checked && checked.value ? checked.value === "true" : null;
    }
    const raw = form.elements[id].value.trim();
    if (!raw) return null;
    if (type === "choice") return raw;
    const number = Number(raw);
    return Number.isFinite(number) ? number : raw;
  }

  function answers() {
    const given = {...data.answers};
    let changed = false;
    for (const [id, type] of Object.entries(data.types)) {
      const value = shown(id, type);
      if (value !== (data.answers[id] ?? null)) changed = true;
      if (value === null) delete given[id]; else given[id] = value;
    }
    return changed ? given : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("submit-appeal");
    App.clearErrors(form);
    const body = {reason: form.elements.reason.value.trim()};
    const corrected = answers();
    if (corrected) body.answers = corrected;
    App.busy(button, true);
    const response = await App.api("POST", `/v1/assessments/${data.assessment}/appeals`, body);
    App.busy(button, false);
    if (response.status === 201) {
      window.location.assign(`${form.dataset.root}/appeals/${response.data.id}`);
      return;
    }
    if (response.status === 0 || !response.data) { formError.textContent = App.t("network_error"); return; }
    const marked = App.showErrors(form, response.data.errors || [], formError);
    if (!formError.textContent) formError.textContent = marked.length ? App.t("form_has_errors") : response.data.detail;
    App.focusFirst(marked);
  });
})();
