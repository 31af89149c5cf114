// The service worker keeps the application's shell for offline starts (see
// build/sw.template.js). The page enforces Trusted Types, so its URL passes through the
// one policy the page's CSP allows, which lets exactly this script through.
const WORKER = "/sw.js";

interface TrustedTypePolicy {
  createScriptURL(url: string): unknown;
}
interface TrustedTypes {
  createPolicy(name: string, rules: { createScriptURL: (url: string) => string }): TrustedTypePolicy;
}

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || import.meta.env.DEV) return;
  const tt = (window as unknown as { trustedTypes?: TrustedTypes }).trustedTypes;
  const url = tt
    ? tt
        .createPolicy("tsunagu", {
          createScriptURL: (u) => {
            if (u !== WORKER) throw new TypeError(`not the service worker: ${u}`);
            return u;
          },
        })
        .createScriptURL(WORKER)
    : WORKER;
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(url as string, { scope: "/" }).catch(() => {
      /* no offline shell: the application works the same online */
    });
  });
}
