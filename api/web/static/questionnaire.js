/* The questionnaire: questions that do not apply are hidden (the catalog's applies_when, evaluated
   here from the catalog data embedded in the page), answers are checked as they are typed by the API's
   own scoring preview (POST /v1/score, so the messages are the API's), the draft lives in localStorage
   (it survives a closed tab), and the submission carries one submission_id per draft and the household's
   latest assessment seen when the draft began (`based_on`). Without a network (or when the household was
   assessed again meanwhile) the finished questionnaire goes to the device's outbox (static/offline.js). */
"use strict";
(() => {
  const form = document.getElementById("questionnaire");
  const data = JSON.parse(document.getElementById("questionnaire-data").textContent);
  const household = form.dataset.household;
  const root = form.dataset.root;
  const corrects = data.corrects || null;  // the assessment this one corrects, prefilled with its answers
  const draftKey = `assess-draft:${form.dataset.user}:${household}` + (corrects ? `:corrects:${corrects}` : "");
  const formError = document.getElementById("form-error");
  const CHECK_DELAY_MS = 400;
  const hasOutbox = typeof Outbox !== "undefined" && Boolean(Outbox.user);
  const touched = new Set();
  let submitAttempted = false;
  let checkTimer = null;
  let checkSequence = 0;

  function uuid4() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function rawValue(indicator) {
    if (indicator.type === "yes_no") {
      const checked = form.querySelector(`input[name="${indicator.id}"]:checked`);
      return checked ? checked.value : "";
    }
    return form.elements[indicator.id].value;
  }

  function setRaw(indicator, raw) {
    if (indicator.type === "yes_no") {
      form.querySelectorAll(`input[name="${indicator.id}"]`).forEach((input) => { input.checked = input.value === raw; });
    } else {
      form.elements[indicator.id].value = raw;
    }
  }

  /* What is sent: typed numbers as numbers, anything else as typed so the API names what is wrong. */
  function answerOf(indicator, raw) {
    if (raw === "" || raw === undefined || raw === null) return null;
    if (indicator.type === "yes_no") return raw === "true";
    if (indicator.type === "ordinal") return Number(raw);
    if (indicator.type === "choice") return raw;
    const text = String(raw).trim();
    if (!text) return null;
    const number = Number(text);
    return Number.isFinite(number) ? number : text;
  }

  const compare = {
    eq: (a, b) => a === b, ne: (a, b) => a !== b, gt: (a, b) => a > b, ge: (a, b) => a >= b,
    lt: (a, b) => a < b, le: (a, b) => a <= b, in: (a, b) => Array.isArray(b) && b.includes(a),
  };

  /* A condition on a missing (or not yet valid) answer is false, as in the scoring core. */
  function holds(condition, values) {
    const value = values[condition.indicator];
    const other = condition.value_of !== undefined ? values[condition.value_of] : condition.value;
    if (value === null || value === undefined || other === null || other === undefined) return false;
    if (typeof value === "string" && data.types[condition.indicator] !== "choice") return false;
    return compare[condition.op](value, other);
  }

  function applies(indicator, values) {
    return indicator.applies_when.every((condition) => holds(condition, values));
  }

  data.types = Object.fromEntries(data.indicators.map((i) => [i.id, i.type]));

  function state() {
    const raw = {}, values = {}, answers = {};
    let applicable = 0, answered = 0;
    for (const indicator of data.indicators) raw[indicator.id] = rawValue(indicator);
    for (const indicator of data.indicators) values[indicator.id] = answerOf(indicator, raw[indicator.id]);
    const shown = {};
    for (const indicator of data.indicators) {
      shown[indicator.id] = applies(indicator, values);
      if (!shown[indicator.id]) continue;
      applicable += 1;
      if (values[indicator.id] !== null) { answers[indicator.id] = values[indicator.id]; answered += 1; }
    }
    return {raw, answers, shown, applicable, answered};
  }

  function loadDraft() {
    try { return JSON.parse(localStorage.getItem(draftKey)); } catch (error) { return null; }
  }

  /* A stored answer as the form holds it. */
  function rawOf(indicator, value) {
    if (value === null || value === undefined) return "";
    if (indicator.type === "yes_no") return value ? "true" : "false";
    return String(value);
  }

  let draft = loadDraft();
  const restored = Boolean(draft);
  if (!draft) {
    draft = {submission_id: uuid4(), raw: {}, assessed_on: form.elements.assessed_on.value,
             based_on: form.dataset.basedOn};
  }
  if (!restored && data.prefill) {
    for (const indicator of data.indicators) {
      if (indicator.id in data.prefill) {
        setRaw(indicator, rawOf(indicator, data.prefill[indicator.id]));
        touched.add(indicator.id);
      }
    }
  }

  function saveDraft(current) {
    draft.raw = current.raw;
    draft.assessed_on = form.elements.assessed_on.value;
    draft.saved_at = new Date().toISOString();
    try {
      localStorage.setItem(draftKey, JSON.stringify(draft));
      document.getElementById("draft-status").textContent =
        App.t("draft_saved", {time: new Date().toLocaleTimeString(App.lang === "zh" ? "zh-CN" : "en-GB")});
    } catch (error) { /* storage full or disabled: the form still works */ }
  }

  /* Only problems of answered (or, after a submit, any) questions are shown while typing. */
  function visibleProblems(problems) {
    return problems.filter((problem) => {
      const id = (problem.path || "").replace(/^answers\.?/, "");
      if (problem.path === "assessed_on") return true;
      if (submitAttempted) return true;
      return id && touched.has(id) && problem.code !== "missing_required";
    });
  }

  async function check() {
    const current = state();
    const sequence = ++checkSequence;
    const response = await App.api("POST", "/v1/score", {
      answers: current.answers, region_id: form.dataset.region, assessed_on: form.elements.assessed_on.value || null,
    });
    if (sequence !== checkSequence) return;  // a later check is on its way
    App.clearErrors(form);
    const live = document.getElementById("live-index");
    if (response.ok) {
      live.textContent = `${App.t("live_index")} ${response.data.index.toFixed(1)}`;
      return;
    }
    live.textContent = "";
    if (response.status === 0) { live.textContent = App.t("offline_no_check"); return; }
    if (response.data && response.data.errors) {
      App.showErrors(form, visibleProblems(response.data.errors).filter((p) => p.code !== "no_answers" || submitAttempted), formError);
    }
  }

  function refresh() {
    const current = state();
    for (const indicator of data.indicators) {
      document.getElementById(`q-${indicator.id}`).hidden = !current.shown[indicator.id];
    }
    document.getElementById("progress").textContent =
      App.t("answered_count", {answered: current.answered, applicable: current.applicable});
    return current;
  }

  function changed(event) {
    if (event.target.name && event.target.name !== "assessed_on") touched.add(event.target.name);
    saveDraft(refresh());
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, CHECK_DELAY_MS);
  }

  if (restored) {
    for (const indicator of data.indicators) {
      if (draft.raw && draft.raw[indicator.id] !== undefined) setRaw(indicator, draft.raw[indicator.id]);
      if (draft.raw && draft.raw[indicator.id]) touched.add(indicator.id);
    }
    if (draft.assessed_on) form.elements.assessed_on.value = draft.assessed_on;
    document.getElementById("draft-status").textContent = App.t("draft_restored");
    check();
  }
  refresh();
  if (!restored && data.prefill) check();

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

  document.getElementById("discard").addEventListener("click", () => {
    if (!window.confirm(App.t("discard_confirm"))) return;
    localStorage.removeItem(draftKey);
    window.location.reload();
  });

  /* The finished questionnaire waits in the device's outbox; its draft is done with. */
  function toOutbox(item) {
    Outbox.add(item);
    localStorage.removeItem(draftKey);
    window.location.assign(`${root}/outbox`);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submitAttempted = true;
    clearTimeout(checkTimer);
    checkSequence += 1;  // answers to earlier checks are stale now
    const current = refresh();
    saveDraft(current);
    const button = document.getElementById("submit");
    App.clearErrors(form);
    const queued = {submission_id: draft.submission_id, household, name: form.dataset.name,
                    answers: current.answers, raw: current.raw, assessed_on: form.elements.assessed_on.value,
                    based_on: draft.based_on};
    if (corrects) queued.corrects = corrects;
    if (!navigator.onLine && hasOutbox) { toOutbox(queued); return; }
    App.busy(button, true);
    const body = {submission_id: draft.submission_id, answers: current.answers,
                  assessed_on: form.elements.assessed_on.value};
    if (corrects) body.corrects = corrects;
    if (draft.based_on !== undefined && draft.based_on !== "") body.based_on = Number(draft.based_on);
    const response = await App.api("POST", `/v1/households/${household}/assessments`, body);
    App.busy(button, false);
    if (response.status === 201) {
      localStorage.removeItem(draftKey);
      if (hasOutbox) Outbox.renew(household);
      window.location.assign(`${root}/assessments/${response.data.id}`);
      return;
    }
    if (response.status === 0 || !response.data) {
      if (hasOutbox) { toOutbox(queued); return; }
      formError.textContent = App.t("network_error");
      return;
    }
    const problems = response.data.errors || [];
    if (hasOutbox && problems.some((problem) => problem.code === "household_changed")) {
      toOutbox(queued);  // sent from the outbox, it comes back as a conflict to resolve there
      return;
    }
    const marked = App.showErrors(form, problems, formError);
    const count = problems.length;
    formError.textContent = [App.t("problems_above", {count}), formError.textContent].filter(Boolean).join(" ");
    App.focusFirst(marked);
  });
})();
