// The service worker: it keeps the application's shell (its page, scripts, styles and
// icons) so the sign-in screen opens without a network. It never caches an API answer —
// patient data must not stay on the device — and never answers for /api/ at all.
const VERSION = __VERSION__;
const SHELL = __SHELL__;
const CACHE = "tsunagu-shell-" + VERSION;
const IN_SHELL = new Set(SHELL);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    // The page from the network when there is one (a new release), else the kept shell.
    event.respondWith(fetch(request).catch(() => caches.match("/")));
    return;
  }
  if (IN_SHELL.has(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((kept) => kept || fetch(request)));
  }
});
