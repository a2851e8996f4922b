/* The service worker of the pages (scope /app/): every GET of the pages goes to the network first; what
   comes back is kept for when there is no network, but only the static files and the pages the server marks
   with X-Offline-Copy (a caseworker's own station's household list, questionnaires and outbox), each
   user's in a cache of their own. Without a network the kept copy is shown; nothing else is ever kept.
   Signing out deletes every cache (static/offline.js, and the server's Clear-Site-Data). */
"use strict";
const SHELL = "assess-shell-v1";
const PAGES = "assess-pages-";
const OFFLINE_HEADER = "X-Offline-Copy";
const ROOT = new URL(self.registration.scope).pathname.replace(/\/$/, "");
const SHELL_FILES = ["app.css", "app.js", "offline.js", "questionnaire.js", "icon.svg"]
  .map((name) => `${ROOT}/static/${name}`);
const START_PAGES = [`${ROOT}/households`, `${ROOT}/outbox`];

/* Keep a page's response when the server marked it as the caller's own; drop any older copy otherwise. */
async function store(url, response) {
  if (new URL(url).pathname.startsWith(`${ROOT}/static/`)) {
    await (await caches.open(SHELL)).put(url, response);
    return;
  }
  const user = response.headers.get(OFFLINE_HEADER);
  if (user && /^\d+$/.test(user) && !response.redirected) {
    await (await caches.open(PAGES + user)).put(url, response);
    return;
  }
  for (const name of await caches.keys()) {
    if (name.startsWith(PAGES)) await (await caches.open(name)).delete(url);
  }
}

async function keep(url) {
  try {
    const response = await fetch(url, {credentials: "same-origin"});
    if (response.ok) await store(url, response);
  } catch (error) { /* offline: kept next time */ }
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    await (await caches.open(SHELL)).addAll(SHELL_FILES);
    await Promise.all(START_PAGES.map((url) => keep(new URL(url, self.location.origin).href)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("assess-shell-") && name !== SHELL) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

/* A page opened before this worker controlled it asks to be kept. */
self.addEventListener("message", (event) => {
  const url = event.data && event.data.keep;
  if (typeof url === "string" && new URL(url).origin === self.location.origin) event.waitUntil(keep(url));
});

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") await store(request.url, response.clone());
    return response;
  } catch (error) {
    const kept = await caches.match(request, {ignoreVary: true});
    if (kept) return kept;
    if (request.mode === "navigate") {
      const outbox = await caches.match(`${ROOT}/outbox`, {ignoreVary: true});
      if (outbox) return outbox;
    }
    return Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith(`${ROOT}/`) || url.pathname === `${ROOT}/sw.js`) return;
  event.respondWith(networkFirst(event.request));
});
