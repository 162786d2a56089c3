// The technician app's service worker: the app shell from the cache first (the app opens with no
// connection), and the agenda's last answer when the network is away. The world itself (jobs,
// offers, checklists) and the acts waiting to be sent live in IndexedDB (store.js).
const SHELL = "fieldfix-tech-shell-v1";
const DATA = "fieldfix-tech-data-v1";
const FILES = ["/tech/", "/tech/app.js", "/tech/store.js", "/tech/style.css", "/tech/manifest.webmanifest",
  "/tech/icon.svg", "/tech/icon-192.png", "/tech/icon-512.png"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fieldfix-tech-") && k !== SHELL && k !== DATA).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname === "/tech" || url.pathname.startsWith("/tech/")) {
    // The shell: the cached copy at once, refreshed behind it for the next start.
    const key = e.request.mode === "navigate" ? "/tech/" : url.pathname;
    e.respondWith(caches.open(SHELL).then(async (c) => {
      const hit = await c.match(key);
      const fresh = fetch(e.request).then((res) => {
        if (res.ok && e.request.mode !== "navigate") c.put(key, res.clone());
        return res;
      });
      if (hit) {
        e.waitUntil(fresh.catch(() => {}));
        return hit;
      }
      return fresh;
    }));
    return;
  }
  if (url.pathname === "/v1/technicians/me/jobs") {
    // The agenda: the network first, its last answer when offline.
    e.respondWith(fetch(e.request).then((res) => {
      if (res.ok) {
        const copy = res.clone();
        e.waitUntil(caches.open(DATA).then((c) => c.put(url.pathname, copy)));
      }
      return res;
    }).catch(() => caches.open(DATA).then((c) => c.match(url.pathname)).then((hit) => hit || Response.error())));
  }
});
