// The first screen's JavaScript, compressed, stays under a budget: what index.html loads
// before anything is shown (its module script and the chunks it preloads), gzipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET = 200_000;
const dist = new URL("../dist/", import.meta.url).pathname;
const page = readFileSync(join(dist, "index.html"), "utf8");
const scripts = [
  ...page.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
  ...page.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
].map((m) => m[1]);
if (scripts.length === 0) {
  console.error("check-size: index.html loads no module script");
  process.exit(1);
}
let total = 0;
for (const src of new Set(scripts)) {
  const size = gzipSync(readFileSync(join(dist, src)), { level: 9 }).length;
  total += size;
  console.log(`check-size: ${src} ${size} bytes gzipped`);
}
console.log(`check-size: first screen ${total} bytes of JavaScript gzipped (budget ${BUDGET})`);
if (total > BUDGET) {
  console.error(`check-size: over budget by ${total - BUDGET} bytes`);
  process.exit(1);
}
