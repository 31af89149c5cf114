// The web application's speed as a person feels it, on the PC profile in headless Chromium
// (tests/bench/run web starts the platform and hands us its configuration):
//   - the first screen, cold: a new browser profile opens / until the sign-in screen shows;
//   - signing in: from that screen, typing and sending until the home screen shows;
//   - opening again, signed in: a new tab opens / until the home screen shows (the session
//     restored from the refresh cookie, the shell from the browser's cache).
//
//   node e2e/bench.mjs CONFIG.json
import { readFileSync } from "node:fs";
import { clock, launch, SIZES, totp } from "./lib.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = config.base_url;
const services = clock(config);
const browser = await launch(config.chromium);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
function report(name, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const fmt = (v) => `${v.toFixed(0)} ms`;
  console.log(`${name}: n=${sorted.length} p50 ${fmt(percentile(sorted, 50))} p99 ${fmt(percentile(sorted, 99))} min ${fmt(sorted[0])} max ${fmt(sorted[sorted.length - 1])}`);
}

const cold = [];
const signIn = [];
let last = null;
for (const account of config.accounts) {
  const context = await browser.newContext({ viewport: SIZES.pc, locale: "ja-JP" });
  const page = await context.newPage();
  let t0 = performance.now();
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "サインイン", exact: true }).waitFor();
  cold.push(performance.now() - t0);
  await page.getByLabel("ユーザー名").fill(account.username);
  await page.getByLabel("パスワード").fill(account.password);
  await page.getByLabel("確認コード（6桁）").fill(totp(account.secret, services.step(0)));
  t0 = performance.now();
  await page.getByRole("button", { name: "サインイン" }).click();
  await page.getByRole("heading", { level: 1, name: "お知らせ", exact: true }).waitFor();
  signIn.push(performance.now() - t0);
  if (last) await last.close();
  last = context;
}

const reopen = [];
for (let i = 0; i < config.opens; i++) {
  const page = await last.newPage();
  const t0 = performance.now();
  await page.goto(base + "/");
  await page.getByRole("heading", { level: 1, name: "お知らせ", exact: true }).waitFor();
  reopen.push(performance.now() - t0);
  await page.close();
}
await browser.close();

report("first screen, cold (open / to the sign-in screen)", cold);
report("sign-in (send to the signed-in home screen)", signIn);
report("open again, signed in (open / to the home screen)", reopen);
