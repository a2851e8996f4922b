/* "Refer" on a result: POST /v1/households/{id}/referrals for one recommended service. */
"use strict";
document.querySelectorAll("form.refer-form").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button.refer");
    const provider = form.elements.provider_id ? form.elements.provider_id.value : "";
    App.clearErrors(form.parentElement);
    App.busy(button, true);
    const response = await App.api("POST", `/v1/households/${form.dataset.household}/referrals`, {
      service_id: form.dataset.service, assessment_id: Number(form.dataset.assessment),
      provider_id: provider ? Number(provider) : null,
    });
    App.busy(button, false);
    if (response.status === 201) {
      button.textContent = App.t("referred");
      button.disabled = true;
      if (form.elements.provider_id) form.elements.provider_id.disabled = true;
      form.querySelector(".refer-status").textContent = App.t(`referral_status_${response.data.status}`);
      return;
    }
    const problems = response.data && response.data.errors ? response.data.errors
      : [{path: "", message_zh: App.t("network_error"), message_en: App.t("network_error")}];
    form.querySelector(".field-error").textContent = problems.map(App.message).join(" ");
  });
});
