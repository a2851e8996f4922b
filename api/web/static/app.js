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

  return {lang, t, api, message, clearErrors, showErrors, busy, focusFirst};
})();
