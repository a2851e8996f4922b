/* Working without a network: registers the service worker (static/sw.js), keeps the queue of questionnaires
   finished on this device (localStorage, per user, each with its submission_id), sends them when the
   connection returns, draws the outbox page, and deletes everything the device kept on sign-out.

   A queued item: {submission_id, household, name, answers, raw, assessed_on, corrects?, based_on, queued_at,
   state, result?, problems?, latest_assessment_id?}; state is waiting, sent (on its way), stored, needs_fixing or
   conflict (the household was assessed again on the server meanwhile: sent again only when the user says). */
"use strict";
const Outbox = (() => {
  const body = document.body;
  const user = body.dataset.user;
  const root = body.dataset.root;
  const key = `assess-outbox:${user}`;
  const UNSENT = ["waiting", "sent", "needs_fixing", "conflict"];
  let sending = false;

  function load() {
    try { return JSON.parse(localStorage.getItem(key)) || []; } catch (error) { return []; }
  }

  function save(items) {
    localStorage.setItem(key, JSON.stringify(items));
    render();
  }

  function update(submissionId, changes) {
    save(load().map((item) => (item.submission_id === submissionId ? {...item, ...changes} : item)));
  }

  function remove(submissionId) {
    save(load().filter((item) => item.submission_id !== submissionId));
  }

  /* Queue a finished questionnaire (a second add of the same submission replaces the first). */
  function add(item) {
    const items = load().filter((queued) => queued.submission_id !== item.submission_id);
    items.push({...item, state: "waiting", queued_at: new Date().toISOString()});
    save(items);
  }

  /* The kept questionnaire of a household just assessed is fetched again, so that it names the new latest
     assessment (the next questionnaire from it is then no conflict with this device's own). */
  function renew(household) {
    const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    const page = new URL(`${root}/households/${household}/assess`, window.location.href);
    if (worker) worker.postMessage({keep: page.href});
  }

  async function sendOne(item) {
    update(item.submission_id, {state: "sent"});
    const body = {submission_id: item.submission_id, answers: item.answers, assessed_on: item.assessed_on};
    if (item.corrects) body.corrects = item.corrects;
    if (item.based_on !== null && item.based_on !== undefined && item.based_on !== "") {
      body.based_on = Number(item.based_on);
    }
    const response = await App.api("POST", `/v1/households/${item.household}/assessments`, body);
    if (response.status === 201) {
      const stored = response.data;
      update(item.submission_id, {state: "stored", problems: null, answers: null, raw: null,
                                  result: {id: stored.id, index: stored.result.index, tier: stored.result.tier}});
      renew(item.household);
      return true;
    }
    if (response.status === 0 || !response.data) {
      update(item.submission_id, {state: "waiting"});
      return false;
    }
    const problems = (response.data.errors || []).map((problem) => ({code: problem.code, text: App.message(problem)}));
    if (response.status === 409 && problems.some((problem) => problem.code === "household_changed")) {
      update(item.submission_id, {state: "conflict", problems,
                                  latest_assessment_id: response.data.latest_assessment_id});
    } else {
      update(item.submission_id, {state: "needs_fixing", problems});
    }
    return true;
  }

  /* Send every waiting item, one at a time, until the server cannot be reached. */
  async function sendWaiting() {
    if (sending || !navigator.onLine) return;
    sending = true;
    try {
      for (const item of load().filter((queued) => queued.state === "waiting")) {
        if (!(await sendOne(item))) break;  // the server cannot be reached: try again later
      }
    } finally {
      sending = false;
    }
  }

  function tierLabel(tier) {
    const node = document.getElementById("tier-labels");
    const labels = node ? JSON.parse(node.textContent) : {};
    return labels[tier] || tier;
  }

  function button(label, action, submissionId) {
    const node = document.createElement("button");
    node.type = "button";
    node.className = "link";
    node.textContent = label;
    node.dataset.action = action;
    node.dataset.submission = submissionId;
    return node;
  }

  function details(item) {
    const cell = document.createElement("td");
    if (item.state === "stored" && item.result) {
      const link = document.createElement("a");
      link.href = `${root}/assessments/${item.result.id}`;
      link.className = "result";
      link.textContent = App.t("outbox_result", {id: item.result.id, index: Number(item.result.index).toFixed(1),
                                                 tier: tierLabel(item.result.tier)});
      cell.append(link, " ", button(App.t("outbox_remove"), "remove", item.submission_id));
    }
    if (item.problems && item.problems.length && item.state !== "stored") {
      const list = document.createElement("ul");
      list.className = "problems";
      for (const problem of item.problems) {
        const entry = document.createElement("li");
        entry.textContent = problem.text;
        list.append(entry);
      }
      cell.append(list);
    }
    if (item.state === "conflict") {
      const view = document.createElement("a");
      view.href = `${root}/households/${item.household}`;
      view.textContent = App.t("outbox_view_household");
      cell.append(view, " ", button(App.t("outbox_send_anyway"), "send-anyway", item.submission_id), " ",
                  button(App.t("outbox_discard"), "discard", item.submission_id));
    }
    if (item.state === "needs_fixing") {
      cell.append(button(App.t("outbox_fix"), "fix", item.submission_id), " ",
                  button(App.t("outbox_discard"), "discard", item.submission_id));
    }
    return cell;
  }

  function render() {
    const items = load();
    const count = document.getElementById("outbox-count");
    if (count) count.textContent = items.filter((item) => UNSENT.includes(item.state)).length || "";
    const connection = document.getElementById("connection");
    if (connection) connection.textContent = App.t(navigator.onLine ? "online_now" : "offline_now");
    const table = document.getElementById("outbox");
    if (!table) return;
    table.hidden = items.length === 0;
    document.getElementById("outbox-empty").hidden = items.length > 0;
    const rows = items.map((item) => {
      const row = document.createElement("tr");
      row.dataset.submission = item.submission_id;
      row.dataset.state = item.state;
      const cells = [item.name || `#${item.household}`, item.assessed_on, App.t(`state_${item.state}`)];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      row.children[2].className = "state";
      row.append(details(item));
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);
  }

  function act(event) {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const item = load().find((queued) => queued.submission_id === target.dataset.submission);
    if (!item) return;
    const action = target.dataset.action;
    if (action === "remove") remove(item.submission_id);
    if (action === "discard" && window.confirm(App.t("outbox_discard_confirm"))) remove(item.submission_id);
    if (action === "send-anyway") {  // the user has seen the change: send naming the latest now known
      update(item.submission_id, {state: "waiting", based_on: item.latest_assessment_id, problems: null});
      sendWaiting();
    }
    if (action === "fix") {  // back into the questionnaire as its draft, under the same submission id
      localStorage.setItem(`assess-draft:${user}:${item.household}`, JSON.stringify({
        submission_id: item.submission_id, raw: item.raw || {}, assessed_on: item.assessed_on,
        based_on: item.based_on, saved_at: new Date().toISOString()}));
      remove(item.submission_id);
      window.location.assign(`${root}/households/${item.household}/assess`);
    }
  }

  /* Sign-out: what the device kept (queue, drafts, kept pages) is deleted before the form is sent. */
  async function forgetAll() {
    for (const name of Object.keys(localStorage)) {
      if (name.startsWith("assess-")) localStorage.removeItem(name);
    }
    if ("caches" in window) {
      for (const name of await caches.keys()) {
        if (name.startsWith("assess-")) await caches.delete(name);
      }
    }
  }

  function guardSignOut() {
    const form = document.querySelector(`form[action="${root}/sign-out"]`);
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const unsent = load().filter((item) => UNSENT.includes(item.state)).length;
      if (unsent && !window.confirm(App.t("sign_out_unsent", {count: unsent}))) return;
      await forgetAll();
      form.submit();
    });
  }

  /* Pages kept for another user of this device are deleted when someone else signs in. */
  async function dropOtherUsers() {
    if (!("caches" in window)) return;
    for (const name of await caches.keys()) {
      if (name.startsWith("assess-pages-") && name !== `assess-pages-${user}`) await caches.delete(name);
    }
  }

  async function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register(`${root}/sw.js`, {scope: `${root}/`});
      const ready = await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller && ready.active) ready.active.postMessage({keep: window.location.href});
    } catch (error) { /* not installable here (e.g. not a secure context): the pages still work online */ }
  }

  if (user) {
    // An item left "sent" by a page closed while it was on its way goes back to waiting (resending is safe).
    if (load().some((item) => item.state === "sent")) {
      save(load().map((item) => (item.state === "sent" ? {...item, state: "waiting"} : item)));
    }
    document.addEventListener("click", act);
    window.addEventListener("online", () => { render(); sendWaiting(); });
    window.addEventListener("offline", render);
    window.addEventListener("storage", (event) => { if (event.key === key) render(); });
    const sendNow = document.getElementById("send-now");
    if (sendNow) sendNow.addEventListener("click", sendWaiting);
    guardSignOut();
    render();
    dropOtherUsers().then(registerWorker);
    sendWaiting();
  }
  return {add, load, renew, sendWaiting, user};
})();
