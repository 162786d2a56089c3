// The technician app's service worker: the app shell from the cache (the app opens with no
// connection), and the agenda's last answer when the network is away. The world itself (jobs,
// offers, checklists) and the acts waiting to be sent live in IndexedDB (store.js).
//
// The shell is cached whole, per release: the server writes the release's digest below, so a
// release is a new sw.js, which the browser installs beside the running one; its install caches
// every file of the release, and only then does it take over (the page, its script and its
// styles are always of one release). The page open at the time keeps its release until it is
// opened again.
const VERSION = "__FIELDFIX_TECH_VERSION__";
const SHELL = "fieldfix-tech-shell-" + VERSION;
const DATA = "fieldfix-tech-data-v1";
const FILES = ["/tech/", "/tech/app.js", "/tech/store.js", "/tech/style.css", "/tech/manifest.webmanifest",
  "/tech/icon.svg", "/tech/icon-192.png", "/tech/icon-512.png"];

self.addEventListener("install", (e) => {
  // cache: "reload" skips the HTTP cache: the files of this release, not a stale copy.
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES.map((f) => new Request(f, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
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
    // The shell: this release's copy; the network only for what it does not hold.
    const key = e.request.mode === "navigate" ? "/tech/" : url.pathname;
    e.respondWith(caches.open(SHELL).then((c) => c.match(key)).then((hit) => hit || fetch(e.request)));
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
