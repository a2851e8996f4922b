/* A household's form: members added in the browser; a new household is sent to POST /v1/households, an
   edited one (`data-household`) to PATCH /v1/households/{id}; problems shown beside their fields, nothing
   typed is lost. */
"use strict";
(() => {
  const form = document.getElementById("household-form");
  if (!form) return;
  const root = form.dataset.root;
  const rows = document.getElementById("member-rows");
  const template = document.getElementById("member-template");
  const formError = document.getElementById("form-error");
  const editing = form.dataset.household;

  function renumber() {
    [...rows.children].forEach((row, position) => { row.dataset.path = `members.${position}`; });
  }

  function addMember(member) {
    const row = template.content.firstElementChild.cloneNode(true);
    if (member) {
      row.querySelector('[name="relation"]').value = member.relation || "other";
      row.querySelector('[name="birth_year"]').value = member.birth_year || "";
      row.querySelector('[name="sex"]').value = member.sex || "";
      row.querySelector('[name="member_name"]').value = member.name || "";
      row.querySelector('[name="member_id_number"]').value = member.id_number || "";
    }
    row.querySelector(".remove-member").addEventListener("click", () => { row.remove(); renumber(); });
    rows.appendChild(row);
    renumber();
    return row;
  }

  function number(text) {
    const trimmed = text.trim();
    if (!trimmed) return null;
    return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
  }

  function members() {
    return [...rows.children].map((row) => ({
      relation: row.querySelector('[name="relation"]').value,
      birth_year: number(row.querySelector('[name="birth_year"]').value),
      sex: row.querySelector('[name="sex"]').value || null,
      name: row.querySelector('[name="member_name"]').value.trim() || null,
      id_number: row.querySelector('[name="member_id_number"]').value.trim() || null,
    }));
  }

  function body() {
    const value = (name) => (form.elements[name] ? form.elements[name].value : "");
    if (editing) return {name: value("name").trim(), phone: value("phone").trim() || null, members: members()};
    const payload = {
      personal: {name: value("name").trim(), id_number: value("id_number").trim(), phone: value("phone").trim() || null},
      members: members(),
    };
    if (form.elements.station_id) payload.station_id = Number(value("station_id"));
    const override = document.getElementById("override-field");
    if (override && !override.hidden && value("override_reason").trim()) {
      payload.override = {reason: value("override_reason").trim()};
    }
    return payload;
  }

  document.getElementById("add-member").addEventListener("click", () => {
    addMember().querySelector("select").focus();
  });
  const stored = document.getElementById("household-members");
  if (stored) JSON.parse(stored.textContent).forEach((member) => addMember(member));
  else addMember();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    App.clearErrors(form);
    App.busy(button, true);
    const response = editing ? await App.api("PATCH", `/v1/households/${editing}`, body())
      : await App.api("POST", "/v1/households", body());
    App.busy(button, false);
    if (response.ok) {
      const candidate = form.dataset.candidate;
      if (candidate) {  // registered from a visit list: the candidate's visit is recorded with the new household
        await App.api("POST", `/v1/discovery/candidates/${candidate}/visit`,
                      {outcome: "registered", household_id: response.data.id});
      }
      window.location.assign(`${root}/households/${response.data.id}`);
      return;
    }
    if (response.status === 0 || !response.data) {
      formError.textContent = App.t("network_error");
      return;
    }
    const marked = App.showErrors(form, response.data.errors || [], formError);
    if (!formError.textContent && !marked.length) formError.textContent = response.data.detail || App.t("error");
    else if (!formError.textContent) formError.textContent = App.t("form_has_errors");
    const existing = response.data.existing_household_id;
    if (existing) {
      const link = document.querySelector("#existing-link");
      link.hidden = false;
      link.querySelector("a").href = `${root}/households/${existing}`;
      const override = document.getElementById("override-field");
      if (override) override.hidden = false;
    }
    App.focusFirst(marked);
  });
})();
