import { defineConfig } from "vitest/config";
import { precompress, serviceWorker } from "./build/plugins.ts";

export default defineConfig({
  plugins: [serviceWorker(), precompress()],
  build: {
    target: "es2022",
    // Nothing inlined as data: URLs — the page's policy allows images from this origin only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev` against a running platform (deploy/up): the API stays same-origin.
    proxy: { "/api": process.env.TSUNAGU_GATEWAY_URL ?? "http://127.0.0.1:8080" },
  },
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    environment: "node",
  },
});
