// CamLens service worker: after the first visit the app works offline.
// On install it stores the site's files (the list and the version are
// written in by scripts/build); it answers same-origin GET requests from
// that cache first, and stores other same-origin responses (models opened
// later) as they are fetched. It never touches other origins (the
// Content-Security-Policy allows none anyway).
//
// The first install takes control at once, so that the first visit is
// already cached. A new version waits until no page of the old one is
// open, so that a running page never mixes files of two builds (its
// engine and its scripts must match).
"use strict";
const VERSION = "__CAMLENS_VERSION__";
const PRECACHE = ["__CAMLENS_PRECACHE__"];
const CACHE = "camlens-" + VERSION;

self.addEventListener("install", (ev) => {
  ev.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE.map((p) => new Request(new URL(p, self.registration.scope), { cache: "no-cache" })));
    if (!self.registration.active) await self.skipWaiting();
  })());
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("camlens-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (ev) => {
  const req = ev.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) return hit;
    const resp = await fetch(req);
    if (resp.ok && resp.status === 200 && !req.headers.has("range")) {
      ev.waitUntil(cache.put(req, resp.clone()));
    }
    return resp;
  })());
});
