/* "Show" beside a masked ID number: the whole number comes from POST /v1/households/{id}/id-number (audited,
   never in a URL) and replaces the masked one. */
"use strict";
document.querySelectorAll("form.reveal").forEach((form) => {
  form.addEventListener("api-form:done", (event) => {
    document.getElementById(form.dataset.target).textContent = event.detail.data.id_number;
    form.remove();
  });
});
