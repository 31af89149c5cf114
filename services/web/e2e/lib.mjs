// Helpers of the browser tests: Debian's Chromium driven by playwright-core, second-factor
// codes on the services' clock, axe-core in each screen, screenshots at each size.
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const SIZES = {
  phone: { width: 390, height: 844 },
  tablet: { width: 820, height: 1180 },
  pc: { width: 1366, height: 768 },
};

// As FACTS.md says for root on this machine: no sandbox, and none of Chromium's own
// connections to outside hosts (the network here is closed).
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launch(executablePath) {
  return chromium.launch({ executablePath, args: FLAGS, headless: true });
}

/** RFC 4648 base32 → bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code of `secret` for a 30-second step. */
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac("sha1", base32(secret)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const n = (h.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

/** The services' clock (they run on an injected start time), as this test sees it. */
export function clock(config) {
  return {
    now: () => config.clock_start_unix + (Date.now() - config.started_wall_ms) / 1000,
    step(offset = 0) {
      return Math.floor(this.now() / 30) + offset;
    },
  };
}

/** Runs axe-core in the page; fails on any serious or critical violation. */
export async function accessible(page, screen) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of violations.filter((v) => !bad.includes(v))) {
    console.log(`  axe (${v.impact}) on ${screen}: ${v.id} — ${v.help} at ${v.nodes.join(", ")}`);
  }
  if (bad.length) {
    throw new Error(`accessibility on ${screen}: ${bad.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(", ")}`).join("; ")}`);
  }
}

/** Screenshots of the page at each size asked, checked by axe at each. */
export function camera(outputDir) {
  mkdirSync(outputDir, { recursive: true });
  let n = 0;
  return async function shoot(page, screen, sizes = ["phone", "pc"]) {
    n += 1;
    for (const size of sizes) {
      await page.setViewportSize(SIZES[size]);
      await page.mouse.move(0, 0); // no hover highlight left where the last click was
      // From the top: sticky bars would otherwise sit where the page was scrolled to.
      await page.evaluate(() => window.scrollTo(0, 0));
      // Let the layout settle at the new size (no fixed wait: one frame).
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const file = join(outputDir, `${String(n).padStart(2, "0")}-${screen}-${size}.png`);
      // The whole page in view at once: pictured so, the sticky bars sit where a person
      // sees them at the ends of the page (a full-page capture leaves them mid-page), and
      // checked so, as axe would otherwise count whatever a bar covers at one scroll
      // position against it. People scroll, and focus scrolls clear of the bars
      // (scroll-padding), which `focusStaysInView` checks by moving through the page.
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.setViewportSize({ width: SIZES[size].width, height: Math.max(height, SIZES[size].height) });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      await page.screenshot({ path: file });
      await accessible(page, `${screen} (${size})`);
    }
    await page.setViewportSize(SIZES[sizes[0]]);
  };
}

/** Fails the run on what a person would see go wrong: an uncaught error, or the page's
 * policy refusing something (an inline script, a foreign origin, a Trusted Types sink). */
export function watch(page, who, problems) {
  page.on("pageerror", (e) => problems.push(`${who}: uncaught error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const text = m.text();
    if (/Content Security Policy|Trusted Type|Refused to/i.test(text)) problems.push(`${who}: ${text}`);
  });
}

/** Tabs through the page (at most `steps` stops) and fails if a focused element is hidden
 * behind the sticky top or bottom bar (WCAG 2.4.11, focus not obscured). */
export async function focusStaysInView(page, screen, steps = 40) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator("body").focus();
  for (let i = 0; i < steps; i++) {
    await page.keyboard.press("Tab");
    const hidden = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const r = el.getBoundingClientRect();
      // What is drawn on top at the element's centre: the element (or inside it), or a bar.
      const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      const bar = top?.closest(".top, .bottom");
      const covered = bar && !bar.contains(el);
      return covered ? `${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 40)}"` : null;
    });
    if (hidden) throw new Error(`focus hidden behind a bar on ${screen}: ${hidden}`);
  }
}
