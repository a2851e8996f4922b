/* Shared helpers of the pages: texts in the reader's language, calls to the JSON API with the page's
   CSRF value, and problems (RFC 9457 `errors`) shown beside the field they name. */
"use strict";
const App = (() => {
  const lang = document.body.dataset.lang || "zh";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const textsNode = document.getElementById("texts");
  const texts = textsNode ? JSON.parse(textsNode.textContent) : {};

  function t(key, values = {}) {
    return (texts[key] || key).replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
  }

  /* {ok, status, data}; status 0 when the server could not be reached. */
  async function api(method, url, body) {
    try {
      const response = await fetch(url, {
        method, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf},
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const type = response.headers.get("Content-Type") || "";
      const data = type.includes("json") ? await response.json() : null;
      return {ok: response.ok, status: response.status, data};
    } catch (error) {
      return {ok: false, status: 0, data: null};
    }
  }

  function message(problem) {
    return problem["message_" + lang] || problem.message_en || problem.message_zh || "";
  }

  /* The element marked with the longest data-path that prefixes the problem's path. */
  function fieldFor(root, path) {
    let parts = (path || "").split(".");
    while (parts.length) {
      const found = root.querySelector(`[data-path="${CSS.escape(parts.join("."))}"]`);
      if (found) return found;
      parts = parts.slice(0, -1);
    }
    return null;
  }

  function clearErrors(root) {
    root.querySelectorAll(".invalid").forEach((field) => {
      field.classList.remove("invalid");
      field.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    });
    root.querySelectorAll(".field-error, .form-error").forEach((node) => { node.textContent = ""; });
  }

  function errorNode(field) {
    return [...field.querySelectorAll(".field-error")].pop();
  }

  /* Show each problem beside its field (or in #form-error); returns the fields marked. */
  function showErrors(root, problems, formError) {
    const marked = [];
    const general = [];
    for (const problem of problems) {
      const field = fieldFor(root, problem.path);
      if (!field || !errorNode(field)) { general.push(message(problem)); continue; }
      const node = errorNode(field);
      node.textContent = node.textContent ? `${node.textContent} ${message(problem)}` : message(problem);
      field.classList.add("invalid");
      field.querySelectorAll("input, select, textarea").forEach((input) => input.setAttribute("aria-invalid", "true"));
      marked.push(field);
    }
    if (formError) formError.textContent = general.join(" ");
    return marked;
  }

  function busy(button, on) {
    if (!button) return;
    if (on) { button.dataset.label = button.textContent; button.textContent = button.dataset.busy || "…"; }
    else if (button.dataset.label) { button.textContent = button.dataset.label; }
    button.disabled = on;
  }

  function focusFirst(fields) {
    const input = fields.length && fields[0].querySelector("input, select, textarea");
    if (input) input.focus();
  }

  /* A form's JSON body from its named fields: text as typed (trimmed), `data-type="number"` as a number when
     it is one (else as typed, so the API can say what is wrong with it), checkboxes with
     `data-type="list"`/`"number-list"` as a list of the checked values, other checkboxes as true/false;
     an empty field is left out, or null with `data-empty="null"`; the submit button's own name and value are
     sent too (decision buttons). */
  function formBody(form, submitter) {
    const body = {};
    const asNumber = (text) => (text !== "" && Number.isFinite(Number(text)) ? Number(text) : text);
    for (const element of form.elements) {
      if (!element.name || element.disabled || ["submit", "button"].includes(element.type)) continue;
      const kind = element.dataset.type || "text";
      if (element.type === "checkbox") {
        if (kind === "list" || kind === "number-list") {
          body[element.name] = body[element.name] || [];
          if (element.checked) body[element.name].push(kind === "number-list" ? asNumber(element.value) : element.value);
        } else {
          body[element.name] = element.checked;
        }
        continue;
      }
      if (element.type === "radio" && !element.checked) continue;
      const text = element.value.trim();
      if (text === "") {
        if (element.dataset.empty === "null") body[element.name] = null;
        continue;
      }
      body[element.name] = kind === "number" ? asNumber(text) : kind === "boolean" ? text === "true" : text;
    }
    if (submitter && submitter.name) body[submitter.name] = submitter.value;
    return body;
  }

  /* Forms that call the API (class `api-form`, `data-method`, `data-url`): problems beside their fields (a
     container with the field's `data-path`) or in the form's `.form-error`, nothing typed is lost. On
     success `data-then` says what follows: `reload`, `go` (to `data-go`, where `{name}` is the answer's value
     of that name), or
     nothing (the form sends an `api-form:done` event with the answer). `data-confirm` asks first. */
  async function submitApiForm(event) {
    const form = event.currentTarget;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const button = event.submitter || form.querySelector('button[type="submit"]');
    const formError = form.querySelector(".form-error");
    clearErrors(form);
    busy(button, true);
    const body = form.dataset.method === "DELETE" ? undefined : formBody(form, event.submitter);
    const response = await api(form.dataset.method || "POST", form.dataset.url, body);
    busy(button, false);
    if (response.ok) {
      if (form.dataset.then === "reload") window.location.reload();
      else if (form.dataset.then === "go") {
        window.location.assign(form.dataset.go.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(response.data[name])));
      }
      form.dispatchEvent(new CustomEvent("api-form:done", {detail: response}));
      return;
    }
    if (response.status === 0 || !response.data) {
      if (formError) formError.textContent = t("network_error");
      return;
    }
    const marked = showErrors(form, response.data.errors || [], formError);
    if (formError && !formError.textContent) {
      formError.textContent = marked.length ? t("form_has_errors") : (response.data.detail || t("error"));
    }
    focusFirst(marked);
  }

  document.querySelectorAll("form.api-form").forEach((form) => form.addEventListener("submit", submitApiForm));

  return {lang, t, api, message, clearErrors, showErrors, busy, focusFirst, formBody};
})();
