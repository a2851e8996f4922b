/* Scoring configurations: save a draft from the editable table (POST /v1/configs; problems beside the
   weight they concern), and publish a draft after an explicit confirmation (POST /v1/configs/{id}/publish). */
"use strict";
(() => {
  const form = document.getElementById("draft-form");
  if (form) {
    const formError = document.getElementById("form-error");
    const number = (text) => {
      const value = Number(text.trim());
      return text.trim() && Number.isFinite(value) ? value : text.trim();
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const documentBody = {dimension_weights: {}, indicator_weights: {}, tier_cutoffs: {}};
      form.querySelectorAll("input.weight").forEach((input) => {
        const [group, id] = input.name.split(".");
        documentBody[group][id] = number(input.value);
      });
      for (const name of ["label", "version"]) {
        if (form.elements[name].value.trim()) documentBody[name] = form.elements[name].value.trim();
      }
      const button = document.getElementById("save-draft");
      App.clearErrors(form);
      App.busy(button, true);
      const response = await App.api("POST", "/v1/configs", documentBody);
      App.busy(button, false);
      if (response.status === 201) {
        window.location.assign(`${form.dataset.root}/configurations/${response.data.id}`);
        return;
      }
      if (!response.data) { formError.textContent = App.t("network_error"); return; }
      const marked = App.showErrors(form, response.data.errors || [], formError);
      if (!formError.textContent) formError.textContent = App.t("form_has_errors");
      App.focusFirst(marked);
    });
  }

  const section = document.getElementById("publish-section");
  if (section) {
    const confirmBox = document.getElementById("publish-confirm");
    const ask = document.getElementById("publish");
    ask.addEventListener("click", () => {
      confirmBox.hidden = false;
      ask.hidden = true;
      document.getElementById("cancel-publish").focus();
    });
    document.getElementById("cancel-publish").addEventListener("click", () => {
      confirmBox.hidden = true;
      ask.hidden = false;
      ask.focus();
    });
    document.getElementById("confirm-publish").addEventListener("click", async (event) => {
      App.busy(event.target, true);
      const response = await App.api("POST", `/v1/configs/${section.dataset.config}/publish`);
      App.busy(event.target, false);
      if (response.ok) { window.location.reload(); return; }
      document.getElementById("publish-error").textContent = response.data
        ? (response.data.errors || []).map(App.message).join(" ") : App.t("network_error");
    });
  }
})();
