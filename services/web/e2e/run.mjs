// The browser tests: real Chromium against the real platform (started, seeded and checked
// by tests/scenarios/web_in_a_browser.rs, which hands us its configuration as JSON).
//
//   node e2e/run.mjs CONFIG.json
//
// Each scenario is what a person does; each screen is photographed at phone and PC sizes
// (some at tablet size too) under the output folder and checked by axe-core. Anything a
// person would find wrong fails the run: an uncaught error, the page's policy refusing
// something, a serious or critical accessibility violation, a refusal shown as a blank page.
import { readFileSync } from "node:fs";
import { accessible, camera, clock, focusStaysInView, launch, totp, watch } from "./lib.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = config.base_url;
const services = clock(config);
const shoot = camera(config.output_dir);
const problems = [];
const started = Date.now();

const browser = await launch(config.chromium);

/** A person with their own browser (own cookies), in a device zone far from Japan, so
 * times that show in Japan time prove they are converted. */
async function person(who) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    locale: "ja-JP",
    timezoneId: "America/New_York",
  });
  const page = await context.newPage();
  watch(page, who, problems);
  return { context, page, who };
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function signIn(page, account, { wrongFirst = false } = {}) {
  await page.goto(base + "/");
  await page.getByRole("heading", { name: "サインイン", exact: true }).waitFor();
  await page.getByLabel("ユーザー名").fill(account.username);
  await page.getByLabel("パスワード").fill(account.password);
  if (wrongFirst) {
    await page.getByLabel("確認コード（6桁）").fill(totp(account.secret, services.step(-20)));
    await page.getByRole("button", { name: "サインイン" }).click();
    await page.getByText("ユーザー名・パスワード・確認コードのどれかが違います。").waitFor();
    await page.getByText(/確認コードは1回しか使えません/).waitFor();
    expect((await page.getByLabel("ユーザー名").inputValue()) === account.username, "the username typed is kept after an error");
    expect((await page.getByLabel("パスワード").inputValue()) === account.password, "the password typed is kept after an error");
  }
  await page.getByLabel("確認コード（6桁）").fill(totp(account.secret, services.step(0)));
  await page.getByRole("button", { name: "サインイン" }).click();
  await page.getByRole("heading", { level: 1, name: "お知らせ", exact: true }).waitFor();
}

async function step(name, work) {
  const t0 = Date.now();
  await work();
  console.log(`ok ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
}

const nurse = await person("nurse");
const secretariat = await person("secretariat");
const outsider = await person("outsider");
const auditor = await person("auditor");
const centre = await person("centre");
const careManager = await person("care manager");
const patient = config.patient;

try {
  await step("a nurse signs in with a second-factor code (a wrong code first, nothing typed is lost)", async () => {
    const { page } = nurse;
    await page.goto(base + "/");
    await page.getByRole("heading", { name: "サインイン", exact: true }).waitFor();
    await shoot(page, "sign-in", ["phone", "tablet", "pc"]);
    await page.getByRole("button", { name: "サインイン" }).click();
    for (const message of ["ユーザー名を入力してください。", "パスワードを入力してください。", "確認コード（6桁）を入力してください。"]) {
      await page.getByText(`⚠ ${message}`, { exact: true }).waitFor();
    }
    await shoot(page, "sign-in-empty", ["phone"]);
    await signIn(page, config.accounts.nurse, { wrongFirst: true });
    await shoot(page, "home-nurse");
    const cookies = await nurse.context.cookies();
    const refresh = cookies.find((c) => c.name === "tsunagu_refresh");
    expect(refresh, "the refresh token is a cookie");
    expect(refresh.httpOnly && refresh.sameSite === "Strict" && refresh.path === "/api/v1/sessions/refresh", `the refresh cookie is HttpOnly, SameSite=Strict, scoped to the refresh route: ${JSON.stringify(refresh)}`);
    const stored = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    expect(!/eyJ|tsunagu_refresh/.test(stored), `no token in storage or script-readable cookies: ${stored}`);
  });

  await step("her patient is on her list, the name withheld while the consent waits for the secretariat", async () => {
    const { page } = nurse;
    await page.getByRole("link", { name: "患者" }).first().click();
    await page.getByRole("heading", { name: "担当の患者さん", exact: true }).waitFor();
    await page.getByText("氏名は表示できません").waitFor();
    await page.getByText("事務局の確認がまだです").first().waitFor();
    await shoot(page, "my-patients-consent-pending");
  });

  await step("the secretariat verifies the consent, recorded → verified", async () => {
    const { page } = secretariat;
    await signIn(page, config.accounts.secretariat);
    await shoot(page, "home-secretariat");
    await page.goto(base + "/admin/consents");
    await page.getByRole("heading", { name: "患者・同意の確認", exact: true }).waitFor();
    await page.getByText("確認待ち（事務局の確認前）").waitFor();
    expect((await page.getByText(patient.name).count()) === 0, "the secretariat's list shows no patient name");
    await shoot(page, "consents-waiting", ["phone", "tablet", "pc"]);
    await page.getByRole("button", { name: "確認して有効にする" }).click();
    await page.locator(".status-active").first().waitFor();
    await shoot(page, "consent-verified");
  });

  await step("the secretariat registers a site: a mistake is named beside its field, nothing typed is lost", async () => {
    const { page } = secretariat;
    await page.goto(base + "/admin/organisations");
    await page.getByRole("heading", { name: "法人・事業所", exact: true }).waitFor();
    await page.getByText("法人 ひかり訪問看護ステーション").first().waitFor();
    await shoot(page, "organisations");
    await page.getByRole("link", { name: /法人 ひかり訪問看護ステーション/ }).click();
    await page.getByRole("heading", { level: 1, name: "法人 ひかり訪問看護ステーション", exact: true }).waitFor();
    await page.getByRole("button", { name: "事業所を登録" }).click();
    const form = page.getByRole("form", { name: "事業所を登録" });
    await form.getByLabel("名前（漢字）").fill("ひかりヘルパーステーション");
    await form.getByLabel("フリガナ").fill("ヒカリヘルパーステーション");
    await form.getByLabel("事業所の種類").selectOption("home_visit_care");
    await form.getByLabel("住所").fill("島根県出雲市今市町2-2");
    await form.getByLabel("電話番号").fill("0853-21");
    await form.getByRole("button", { name: "登録する" }).click();
    await form.getByText("電話番号は10桁か11桁です。").waitFor();
    expect((await form.getByLabel("名前（漢字）").inputValue()) === "ひかりヘルパーステーション", "the name typed is kept after the error");
    expect((await form.getByLabel("電話番号").getAttribute("aria-invalid")) === "true", "the phone field says it is at fault");
    await shoot(page, "site-form-error");
    await form.getByLabel("電話番号").fill("0853-21-0002");
    await form.getByRole("button", { name: "登録する" }).click();
    await page.getByText("「ひかりヘルパーステーション」を登録しました。", { exact: false }).waitFor();
    await page.getByText("訪問介護").first().waitFor();
    await shoot(page, "organisation-with-site");
    // The site's card opens its page, where its details are changed.
    await page.getByRole("link", { name: /ひかりヘルパーステーション/ }).click();
    await page.getByRole("heading", { level: 1, name: "ひかりヘルパーステーション" }).waitFor();
    await page.getByRole("button", { name: "事業所の情報を変更" }).click();
    const edit = page.getByRole("form", { name: "事業所の情報を変更" });
    expect((await edit.getByLabel(/^電話番号/).inputValue()) === "0853-21-0002", "the form starts from the site's details");
    await edit.getByLabel(/^電話番号/).fill("0853-21-0003");
    await edit.getByRole("button", { name: "登録する" }).click();
    await page.getByText("変更を保存しました（記録されています）。").waitFor();
    await page.getByText("0853-21-0003").waitFor();
    await shoot(page, "site-changed", ["phone"]);
  });

  await step("the team member then opens the patient's page: name with kana, 和暦, 24-hour phone, team, consent in words", async () => {
    const { page } = nurse;
    await page.goto(base + "/patients");
    await page.getByText(patient.name).first().click();
    await page.getByRole("heading", { level: 1, name: patient.name }).waitFor();
    await page.getByText(patient.name_kana).first().waitFor();
    await page.getByText(/昭和13年5月3日生（\d+歳）/).waitFor();
    const phone = page.getByRole("link", { name: patient.phone, exact: true });
    expect((await phone.getAttribute("href")) === `tel:${patient.phone.replace(/-/g, "")}`, "the 24-hour contact can be called with one tap");
    await page.getByText("有効", { exact: true }).first().waitFor();
    await page.getByText(/のみ$/).first().waitFor();
    // The care team says whom to call: each site by name, with its phone one tap away.
    const team = page.locator("section", { has: page.getByRole("heading", { name: "ケアチーム" }) });
    await team.getByText("ひかり訪問看護ステーション").first().waitFor();
    const call = team.getByRole("link", { name: /ひかり訪問看護ステーションに電話/ }).first();
    expect(((await call.getAttribute("href")) ?? "").startsWith("tel:0"), "a team site can be called with one tap");
    const box = await call.boundingBox();
    expect(box !== null && box.height >= 44, `the call link is a large target: ${box?.height}px`);
    await shoot(page, "patient-page", ["phone", "tablet", "pc"]);
  });

  await step("she posts an urgent report to the team's timeline and reads it back with her name and station", async () => {
    const { page } = nurse;
    const form = page.locator("form.post-form");
    await form.getByLabel("チームへの投稿（報告・連絡・相談）").fill("本日訪問。仙骨部の褥瘡が悪化、処置を変更しました。");
    await form.getByLabel("至急").check();
    await form.getByLabel("要返信").check();
    // A photo, as the phone's camera gives it (drawn here in the browser, a real JPEG).
    const photo = await page.evaluate(() => {
      const c = document.createElement("canvas");
      c.width = 320;
      c.height = 240;
      const g = c.getContext("2d");
      g.fillStyle = "#e8c4b0";
      g.fillRect(0, 0, 320, 240);
      g.fillStyle = "#a4503c";
      g.beginPath();
      g.arc(160, 120, 55, 0, Math.PI * 2);
      g.fill();
      return c.toDataURL("image/jpeg", 0.85).split(",")[1];
    });
    await form.locator("input[type=file]").setInputFiles({ name: "仙骨部.jpg", mimeType: "image/jpeg", buffer: Buffer.from(photo, "base64") });
    await form.getByRole("img", { name: "仙骨部.jpg" }).waitFor();
    // Addressed to the care manager (@), picked from the team by name.
    await form.locator("summary", { hasText: "宛先を指定（@）" }).click();
    await form.getByLabel(/ケアマネジャー/).check();
    await form.getByRole("button", { name: "投稿する" }).click();
    const post = page.locator("li.post.urgent").first();
    await post.getByText(/宛先：@看護 花子（介護支援専門員/).waitFor();
    await post.getByText("仙骨部の褥瘡が悪化").waitFor();
    await post.getByText("至急", { exact: true }).waitFor();
    await post.getByText("要返信", { exact: true }).waitFor();
    await post.getByText(/看護 花子（看護師）・/).waitFor();
    await post.getByText(/既読 0人/).waitFor();
    // The photo is shown in the post, fetched through the post's access decision.
    const shown = post.getByRole("img", { name: "添付写真 1" });
    await shown.waitFor();
    expect(await shown.evaluate((img) => img.complete && img.naturalWidth === 320), "the photo is shown as taken");
    expect((await form.getByRole("img").count()) === 0, "the form holds no photo for the next post");
    expect((await post.getByRole("button", { name: "了解" }).count()) === 0, "no 了解 on one's own post");
    expect((await form.getByLabel("チームへの投稿（報告・連絡・相談）").inputValue()) === "", "the box is empty for the next post");
    await post.getByRole("button", { name: "返信する" }).click();
    await form.getByText("看護 花子さんの投稿への返信").waitFor();
    await form.getByLabel("チームへの投稿（報告・連絡・相談）").fill("追記：除圧マットを交換しました。");
    await form.getByRole("button", { name: "投稿する" }).click();
    const reply = page.locator("li.post.reply").first();
    await reply.getByText("除圧マットを交換しました").waitFor();
    await reply.getByText("返信", { exact: true }).waitFor();
    await post.scrollIntoViewIfNeeded();
    await shoot(page, "patient-timeline", ["phone", "pc"]);
  });

  await step("she corrects her reply (the first text stays in its history) and withdraws a post written by mistake", async () => {
    const { page } = nurse;
    const reply = page.locator("li.post.reply").first();
    await reply.getByRole("button", { name: "編集する" }).click();
    await reply.getByLabel("編集する").fill("追記：除圧マットを交換し、体位変換を2時間ごとにしました。");
    await reply.getByRole("button", { name: "編集を保存" }).click();
    await reply.getByText("体位変換を2時間ごとに").waitFor();
    await reply.getByText(/編集済み/).waitFor();
    await reply.getByText("編集の履歴").click();
    await reply.getByText(/第1版・看護 花子（看護師）/).waitFor();
    await reply.getByText("追記：除圧マットを交換しました。", { exact: true }).waitFor();
    await shoot(page, "patient-timeline-edited", ["phone", "pc"]);

    const form = page.locator("form.post-form");
    await form.getByLabel("チームへの投稿（報告・連絡・相談）").fill("（別の患者さんの記録を誤って投稿）");
    await form.getByRole("button", { name: "投稿する" }).click();
    const wrong = page.locator("li.post", { hasText: "誤って投稿" }).first();
    await wrong.getByRole("button", { name: "取り消す" }).click();
    await wrong.getByText("投稿は削除されず、「取り消し」として残ります。").waitFor();
    await wrong.getByLabel(/取り消す理由/).fill("別の患者さんへの投稿でした");
    await wrong.getByRole("button", { name: "この投稿を取り消す" }).click();
    const withdrawn = page.locator("li.post", { hasText: "この投稿は取り消されました" }).first();
    await withdrawn.getByText("理由：別の患者さんへの投稿でした").waitFor();
    expect((await page.getByText("誤って投稿").count()) === 0, "a withdrawn post's text is no longer shown");
    expect((await withdrawn.getByRole("button", { name: "編集する" }).count()) === 0, "a withdrawn post is not edited");
    await withdrawn.scrollIntoViewIfNeeded();
    await shoot(page, "patient-timeline-withdrawn", ["phone", "pc"]);
  });

  await step("she searches her patients' records for 褥瘡 and finds the report, under the patient's name", async () => {
    const { page } = nurse;
    await page.goto(`${base}/patients`);
    const search = page.getByRole("search");
    await search.getByLabel(/記録を検索/).fill("ｼﾞｮｸｿｳ");
    await search.getByRole("button", { name: "検索" }).click();
    await page.getByText("「ｼﾞｮｸｿｳ」を含む投稿は見つかりませんでした。").waitFor();
    await search.getByLabel(/記録を検索/).fill("褥瘡");
    await search.getByRole("button", { name: "検索" }).click();
    const results = page.getByRole("list", { name: "「褥瘡」の検索結果" });
    const hit = results.getByRole("link").filter({ hasText: "仙骨部の褥瘡が悪化" });
    await hit.getByText(patient.name).waitFor();
    await hit.getByText(/看護 花子（看護師）/).waitFor();
    await shoot(page, "record-search", ["phone", "pc"]);
    await hit.click();
    await page.getByRole("heading", { name: patient.name }).waitFor();
  });

  await step("the secretariat opens an emergency board that fire and police read too; the nurse posts a notice; the secretariat pins it", async () => {
    const { page } = secretariat;
    await page.goto(`${base}/boards`);
    await page.getByRole("heading", { level: 1, name: "掲示板", exact: true }).waitFor();
    await page.getByRole("button", { name: "掲示板をつくる" }).click();
    await page.getByLabel("掲示板の名前").fill("緊急のお知らせ");
    await page.getByLabel("説明（任意）").fill("災害・感染症・通行止めなどの緊急情報");
    await page.getByLabel("全員と消防・警察（緊急のお知らせ向け）").check();
    await page.getByRole("button", { name: "この内容でつくる" }).click();
    const card = page.getByRole("link").filter({ hasText: "緊急のお知らせ" });
    await card.getByText("全員（消防・警察を含む）").waitFor();
    await shoot(page, "boards", ["phone", "pc"]);

    const n = nurse.page;
    await n.goto(`${base}/boards`);
    await n.getByRole("link").filter({ hasText: "緊急のお知らせ" }).click();
    await n.getByRole("heading", { level: 1, name: "緊急のお知らせ" }).waitFor();
    await n.getByLabel("掲示板への投稿").fill("大雪のため、明日の訪問は午後からに変更します。");
    await n.getByLabel("投稿の種類").selectOption("emergency");
    await n.getByRole("button", { name: "投稿する" }).click();
    const notice = n.locator("li.post.urgent").filter({ hasText: "大雪のため" });
    await notice.getByText(/看護 花子（看護師）・/).waitFor();
    expect((await n.getByRole("button", { name: "ピン留めする" }).count()) === 0, "a nurse does not pin");

    await card.click();
    await page.getByText("大雪のため、明日の訪問は午後からに変更します。").waitFor();
    await page.getByRole("button", { name: "ピン留めする" }).first().click();
    const pinned = page.getByRole("region", { name: "ピン留め" });
    await pinned.getByText("大雪のため、明日の訪問は午後からに変更します。").waitFor();
    await shoot(page, "board-pinned", ["phone", "pc"]);

    // The nurse finds the notice again by a word of it, under its board's name.
    await n.goto(base + "/boards");
    await n.getByRole("searchbox", { name: "掲示板を検索" }).fill("大雪");
    await n.getByRole("button", { name: "検索" }).click();
    const hit = n.getByRole("list", { name: "「大雪」の検索結果" }).getByRole("link").filter({ hasText: "大雪のため" });
    await hit.getByText("緊急のお知らせ").waitFor();
    await shoot(n, "board-search", ["phone"]);
  });

  await step("the coordination centre sends a broadcast to the municipality, and the nurse receives it", async () => {
    const { page } = centre;
    await signIn(page, config.accounts.centre);
    await page.goto(`${base}/broadcasts`);
    await page.getByRole("heading", { level: 1, name: "一斉配信", exact: true }).waitFor();
    await page.getByRole("button", { name: "一斉配信を送る" }).click();
    await page.getByLabel("件名").fill("年末年始の連絡体制");
    await page.getByLabel("本文").fill("12月29日から1月3日は、センターの当番携帯（090-0000-0000）へご連絡ください。");
    await page.getByRole("button", { name: "この内容で配信する" }).click();
    const sent = page.getByRole("list", { name: "届いた一斉配信" }).getByRole("article").filter({ hasText: "年末年始の連絡体制" });
    await sent.getByText("全員", { exact: true }).waitFor();
    await page.getByRole("heading", { name: "申請された配信（確認）" }).waitFor();
    await shoot(page, "broadcast-sent", ["phone", "pc"]);

    const n = nurse.page;
    await n.goto(`${base}/broadcasts`);
    const received = n.getByRole("list", { name: "届いた一斉配信" }).getByRole("article").filter({ hasText: "年末年始の連絡体制" });
    await received.getByText(/センターの当番携帯/).waitFor();
    expect((await n.getByRole("button", { name: /一斉配信を/ }).count()) === 0, "a nurse neither sends nor submits");
    await shoot(n, "broadcast-received", ["phone"]);
  });

  await step("the nurse asks the coordination centre about her patient; the centre answers and takes it on", async () => {
    const n = nurse.page;
    await n.goto(`${base}/consultations`);
    await n.getByRole("heading", { level: 1, name: "センターへの相談", exact: true }).waitFor();
    await n.getByRole("button", { name: "相談する" }).click();
    await n.getByLabel("件名").fill("退院後の訪問開始日の調整");
    await n.getByLabel("相談の内容").fill("来週退院予定です。開始日を病院と調整していただけますか。");
    await n.getByLabel("関係する患者さん（任意）").selectOption({ label: patient.name });
    await n.getByRole("button", { name: "送信する" }).click();
    const card = n.getByRole("link").filter({ hasText: "退院後の訪問開始日の調整" });
    await card.getByText("受付中").waitFor();
    await shoot(n, "consultations", ["phone"]);

    const { page } = centre;
    await page.goto(`${base}/consultations`);
    await page.getByRole("link").filter({ hasText: "退院後の訪問開始日の調整" }).click();
    await page.getByText("来週退院予定です。").waitFor();
    await page.getByText(/お名前は表示されません/).waitFor();
    await page.getByLabel("返信").fill("病院の地域連携室に確認し、折り返しご連絡します。");
    await page.getByRole("button", { name: "送信する" }).click();
    await page.getByText("病院の地域連携室に確認し").waitFor();
    await page.getByRole("button", { name: "担当する" }).click();
    await page.getByText(/^担当：/).waitFor();
    await shoot(page, "consultation-answered", ["phone", "pc"]);

    await card.click();
    await n.getByText(`対象の患者さん：${patient.name}`).waitFor();
    await n.getByText("病院の地域連携室に確認し").waitFor();
  });

  await step("a member off the team sees a clear refusal, not a blank page", async () => {
    const { page } = outsider;
    await signIn(page, config.accounts.outsider);
    await page.goto(`${base}/patients/${patient.id}`);
    const alert = page.getByRole("alert");
    await alert.getByText("表示できません").waitFor();
    await alert.getByText("ケアチームに入っていないため、見ることができません").waitFor();
    expect((await alert.getByText("システムからの説明").count()) === 0, "no English explanation appended on a Japanese screen");
    expect(!/[A-Za-z]{4,} [a-z]{2,} /.test(await alert.innerText()), `the refusal is in Japanese: ${await alert.innerText()}`);
    await alert.getByRole("link", { name: "担当の患者さん一覧へ" }).waitFor();
    expect((await page.getByText(patient.name).count()) === 0, "nothing of the patient shows");
    await shoot(page, "patient-refused");
    await page.goto(`${base}/patients`);
    await page.getByText("担当の患者さんはまだいません").waitFor();
    await shoot(page, "my-patients-empty");
  });

  await step("an auditor opens the patient's access report (printable), the history and the chain's verification", async () => {
    const { page } = auditor;
    await signIn(page, config.accounts.auditor);
    await page.goto(base + "/audit/patients");
    // A name typed where the id goes is an input error, not "no accesses".
    await page.getByLabel("患者ID").fill(patient.name);
    await page.getByRole("button", { name: "報告を表示" }).click();
    await page.getByText(/患者IDの形ではありません/).waitFor();
    await page.getByLabel("患者ID").fill(patient.id);
    await page.getByRole("button", { name: "報告を表示" }).click();
    await page.getByRole("table").waitFor();
    const rows = await page.locator("table.report tbody tr").count();
    expect(rows >= 2, `the report lists the accesses (allowed and refused): ${rows} rows`);
    await page.getByText("拒否").first().waitFor();
    // People and places by name, never by id; and no read of a site the auditor may not make.
    const report = page.locator("table.report");
    await report.getByText("看護 花子（看護師）").first().waitFor();
    await report.getByText("ひかり訪問看護ステーション").first().waitFor();
    const reportText = await report.locator("tbody").innerText();
    const idShown = /.{0,40}[0-9a-f]{8}-[0-9a-f]{4}-.{0,40}/.exec(reportText);
    expect(!idShown, `no ids in the report: …${idShown?.[0]}…`);
    await page.getByRole("button", { name: "印刷" }).waitFor();
    await shoot(page, "access-report", ["phone", "pc"]);
    await page.emulateMedia({ media: "print" });
    await shoot(page, "access-report-print", ["pc"]);
    await page.emulateMedia({ media: "screen" });

    await page.goto(base + "/audit/records");
    await page.getByLabel("患者ID").fill(patient.id);
    await page.getByRole("button", { name: "検索" }).click();
    await page.locator(".audit-record").first().waitFor();
    // The purpose in words, never the service's code.
    await page.getByText("ケア（担当チームとして）").first().waitFor();
    await page.locator(".audit-record").getByText(/看護 花子（看護師）/).first().waitFor();
    expect((await page.locator(".audit-record dd", { hasText: /^care$/ }).count()) === 0, "no purpose shown as a code");
    // Newest first, as a history is read.
    const seqs = await page.locator(".audit-record").evaluateAll((cards) =>
      cards.map((c) => Number([...c.querySelectorAll("dt")].find((dt) => dt.textContent === "記録番号")?.nextElementSibling?.textContent)),
    );
    expect(seqs.length >= 2 && seqs.every((n, i) => i === 0 || n < seqs[i - 1]), `the history is newest first: ${seqs.join(",")}`);
    await shoot(page, "access-history");
    await focusStaysInView(page, "access history (phone)");

    await page.goto(base + "/audit/verification");
    await page.getByRole("button", { name: "検証を開始" }).click();
    await page.getByText(/改ざんは見つかりませんでした/).waitFor({ timeout: 30_000 });
    await shoot(page, "verification-intact");

    await page.goto(base + "/audit/break-glass");
    await page.getByText("緊急アクセスはありません。").waitFor();
    await shoot(page, "break-glass-none");
  });

  await step("the secretariat invites a member; the new member enrols in the browser (QR, first code) and signs in", async () => {
    const { page } = secretariat;
    await page.goto(base + "/admin/members");
    await page.getByRole("button", { name: "会員を招待" }).click();
    await page.getByLabel("名前（漢字）").fill("新人 看護師");
    await page.getByLabel("フリガナ").fill("シンジン カンゴシ");
    await page.getByLabel("職種").selectOption("nurse");
    await page.getByLabel("所属事業所").selectOption(config.nursing_site);
    await shoot(page, "invite-form");
    await page.getByRole("button", { name: "招待を作成" }).click();
    await page.getByRole("img", { name: /利用登録のQRコード/ }).waitFor();
    const link = (await page.locator(".link-text code").innerText()).trim();
    expect(link.startsWith(`${base}/activate?token=`), `the invitation is a link to this application: ${link}`);
    await shoot(page, "invitation-qr");

    const newcomer = await person("newcomer");
    const p = newcomer.page;
    await p.goto(link);
    await p.getByRole("heading", { name: "利用登録", exact: true }).waitFor();
    await shoot(p, "enrol-account");
    const username = "shinjin.kango";
    const password = "new-member-password-1";
    await p.getByLabel("ユーザー名").fill(username);
    await p.getByLabel(/^パスワード/).first().fill(password);
    await p.getByLabel("パスワード（確認のためもう一度）").fill(password);
    await p.getByRole("button", { name: "次へ" }).click();
    await p.getByRole("img", { name: "二段階認証を設定するQRコード" }).waitFor();
    await shoot(p, "enrol-second-factor");
    const secret = (await p.locator(".secret").innerText()).replace(/\s/g, "");
    await p.getByLabel("アプリに表示された確認コード（6桁）").fill(totp(secret, services.step(-1)));
    await p.getByRole("button", { name: "設定を完了する" }).click();
    await p.getByText("登録が完了しました").waitFor();
    await shoot(p, "enrol-done");
    await p.getByRole("button", { name: "サインインへ" }).click();
    await signIn(p, { username, password, secret });
    await p.getByText("新人 看護師さん、おつかれさまです。").waitFor();
    await newcomer.context.close();
  });

  await step("the secretariat opens the new member's page: resets her sign-in (a new link), changes her roles, then stops her use — each with a reason", async () => {
    const { page } = secretariat;
    await page.goto(base + "/admin/members");
    await page.getByRole("link", { name: /新人 看護師/ }).click();
    await page.getByRole("heading", { level: 1, name: "新人 看護師" }).waitFor();
    await page.getByText("利用中").waitFor();
    await page.getByText("ひかり訪問看護ステーション").waitFor();
    await page.getByRole("button", { name: "認証をリセット" }).click();
    const confirm = page.getByRole("button", { name: "リセットする" });
    expect(await confirm.isDisabled(), "nothing is reset before a reason is given");
    await page.getByLabel("理由").fill("スマートフォンの機種変更");
    await confirm.click();
    await page.getByText("新人 看護師さんの認証をリセットしました（記録されています）。").waitFor();
    await page.getByRole("img", { name: /利用登録のQRコード/ }).waitFor();
    const link = (await page.locator(".link-text code").innerText()).trim();
    expect(link.startsWith(`${base}/activate?token=`), `the reset is a link to this application: ${link}`);
    await shoot(page, "member-reset");
    await page.getByRole("button", { name: "閉じる" }).click();

    await page.getByRole("button", { name: "役割を変更" }).click();
    await page.getByLabel("事業所管理者").check();
    await page.getByLabel("理由").fill("管理者に就任");
    await page.getByRole("button", { name: "役割を変更する" }).click();
    await page.getByText(/役割を変更しました（記録されています）/).waitFor();
    await page.getByText(/専門職・事業所管理者|事業所管理者・専門職/).waitFor();

    await page.getByRole("button", { name: "利用を停止" }).click();
    await page.getByLabel("理由").fill("退職");
    await page.getByRole("button", { name: "利用を停止する" }).click();
    await page.getByText("新人 看護師さんの利用を停止しました（記録されています）。").waitFor();
    await page.getByText("利用停止", { exact: true }).waitFor();
    await shoot(page, "member-deactivated", ["phone", "pc"]);
  });

  await step("the secretariat registers a new patient in the browser (every missing field named at once, 和暦 read), builds the team; the care manager records the consent; the secretariat verifies it; the nurse opens the patient", async () => {
    const newcomer = { name: "登録 ウメ", kana: "トウロク ウメ" };
    const page = secretariat.page;
    await page.goto(base + "/admin/consents");
    await page.getByRole("button", { name: "患者を登録" }).click();
    await page.getByRole("heading", { level: 1, name: "患者を登録", exact: true }).waitFor();
    const form = page.getByRole("form", { name: "患者を登録" });
    await form.getByLabel(/^保険者番号/).fill("");
    await form.getByRole("button", { name: "登録する" }).click();
    for (const message of ["氏名（漢字）を入力してください。", "フリガナを入力してください。", "生年月日を入力してください。", "住所を入力してください。", "保険者番号を入力してください。", "被保険者番号を入力してください。"]) {
      await form.getByText(`⚠ ${message}`, { exact: true }).waitFor();
    }
    expect((await form.getByLabel("住所").getAttribute("aria-invalid")) === "true", "the address says it is at fault");
    await shoot(page, "patient-form-missing");
    await form.getByLabel("氏名（漢字）").fill(newcomer.name);
    await form.getByLabel("フリガナ").fill(newcomer.kana);
    await form.getByLabel("生年月日").fill("昭和15年4月29日");
    await form.getByText("昭和15年4月29日（1940-04-29）として登録します。").waitFor();
    await form.getByLabel("住所").fill("島根県出雲市今市町3-3");
    await form.getByLabel(/^保険者番号/).fill("322032");
    await form.getByLabel("被保険者番号").fill("0000777001");
    await form.getByLabel("要介護度").selectOption("care_level2");
    await form.getByLabel("認定の有効期間（開始）").fill("令和8年4月1日");
    await form.getByLabel("認定の有効期間（終了）").fill("2027-03-31");
    await shoot(page, "patient-form-filled");
    await form.getByRole("button", { name: "登録する" }).click();
    await page.getByRole("heading", { level: 1, name: "患者さんの登録情報", exact: true }).waitFor();
    await page.getByText("登録しました。次に、ケアチームに事業所を加えてください。").waitFor();
    const added = page.url();

    // The form stays open for the next site: a team is several sites added one after another.
    await page.getByRole("button", { name: "チームに事業所を加える" }).click();
    for (const [site, part] of [["みずうみ居宅介護支援事業所", "ケアマネジャー"], ["ひかり訪問看護ステーション", "訪問看護"]]) {
      const team = page.getByRole("form", { name: "チームに事業所を加える" });
      await team.getByLabel(/^事業所/).selectOption({ label: `${site}（${site.includes("看護") ? "訪問看護ステーション" : "居宅介護支援事業所"}）` });
      expect((await team.getByLabel("チームでの役割").inputValue()) !== "", "a part is chosen from the site's kind");
      await team.getByRole("button", { name: "チームに加える" }).click();
      await page.getByRole("list", { name: "ケアチーム" }).getByText(site).waitFor();
      await page.getByRole("list", { name: "ケアチーム" }).getByText(part).first().waitFor();
    }
    await page.getByRole("button", { name: "24時間連絡先を設定" }).click();
    const contact = page.getByRole("form", { name: "24時間連絡先を設定" });
    await contact.getByLabel("電話番号").fill("0853-21-0099");
    await contact.getByLabel("電話を受ける事業所").selectOption({ label: "ひかり訪問看護ステーション" });
    await contact.getByRole("button", { name: "設定する" }).click();
    await page.getByRole("link", { name: "0853-21-0099" }).waitFor();
    expect((await page.getByText(newcomer.name).count()) === 0, "the secretariat's registration page shows no name");
    await shoot(page, "patient-registration-team", ["phone", "pc"]);

    const cm = careManager.page;
    await signIn(cm, config.accounts.care_manager);
    await cm.goto(base + "/patients");
    await cm.getByRole("heading", { name: "担当の患者さん", exact: true }).waitFor();
    const patientId = added.split("/admin/patients/")[1].split("?")[0];
    await cm.goto(base + `/patients/${patientId}`);
    await cm.getByRole("heading", { name: "ケアチームと同意の手続き" }).waitFor();
    await cm.getByRole("button", { name: "同意書を記録する", exact: true }).click();
    const consent = cm.getByRole("form", { name: "同意書を記録する" });
    await consent.getByLabel("ひかり訪問看護ステーション").waitFor();
    await consent.getByLabel("署名の日付").fill("");
    await consent.getByLabel("写真・動画").uncheck();
    await consent.getByRole("button", { name: /同意書を記録する（事務局の確認へ）/ }).click();
    await consent.getByText("日付として読めません。", { exact: false }).waitFor();
    await consent.getByLabel("署名の日付").fill("令和8年10月1日");
    // The services run on a clock set to 1 October 2026: the consent starts that day.
    await consent.getByLabel("有効期間（開始）").fill("2026-10-01");
    await shoot(cm, "consent-form");
    await consent.getByRole("button", { name: /同意書を記録する（事務局の確認へ）/ }).click();
    await cm.locator(".status-pending").first().waitFor();
    await shoot(cm, "consent-recorded");

    await page.goto(added.split("?")[0]);
    await page.getByRole("heading", { level: 1, name: "患者さんの登録情報", exact: true }).waitFor();
    await page.getByRole("button", { name: "確認して有効にする" }).click();
    await page.locator(".status-active").first().waitFor();
    await shoot(page, "patient-registration-verified", ["phone"]);

    const { page: nursePage } = nurse;
    await nursePage.goto(base + "/patients");
    // Found by her reading typed in hiragana; the other patient is left out.
    await nursePage.getByLabel("氏名・フリガナで絞り込む").fill("とうろく");
    await nursePage.getByText(newcomer.name).first().waitFor();
    await nursePage.getByText(patient.name).waitFor({ state: "detached" });
    await shoot(nursePage, "my-patients-found-by-reading", ["phone"]);
    await nursePage.getByText(newcomer.name).first().click();
    await nursePage.getByRole("heading", { level: 1, name: newcomer.name }).waitFor();
    await nursePage.getByText("昭和15年4月29日生", { exact: false }).waitFor();
    await nursePage.getByText("要介護2", { exact: false }).first().waitFor();
    await nursePage.getByRole("link", { name: "0853-21-0099" }).first().waitFor();
    await shoot(nursePage, "new-patient-opened-by-nurse");
    // Older hands: the language switch and the way back are whole tap targets (44 px).
    for (const target of [nursePage.locator("button.lang").first(), nursePage.getByRole("link", { name: "← 担当の患者さん一覧へ" })]) {
      const box = await target.boundingBox();
      expect(box && box.height >= 44, `a tap target is at least 44 px high: ${JSON.stringify(box)}`);
    }

    // A document gets a title at upload, and downloads under it (not as its id).
    await nursePage.getByRole("button", { name: "文書を添付" }).click();
    const attach = nursePage.getByRole("form", { name: "文書を添付" });
    await attach.getByRole("button", { name: "添付する" }).click();
    await attach.getByText("⚠ 添付するファイルを選んでください。", { exact: true }).waitFor();
    await attach.getByText("⚠ 題名を入力してください。", { exact: true }).waitFor();
    await attach.getByLabel(/^ファイル/).setInputFiles({ name: "houkoku.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n") });
    expect((await attach.getByLabel(/^題名/).inputValue()) === "houkoku", "the title starts as the file's name");
    await attach.getByLabel(/^題名/).fill("訪問看護報告書 10月");
    await attach.getByRole("button", { name: "添付する" }).click();
    const documents = nursePage.getByRole("list", { name: "文書" });
    await documents.getByText("訪問看護報告書 10月").waitFor();
    const [saved] = await Promise.all([nursePage.waitForEvent("download"), documents.getByRole("button", { name: "開く" }).first().click()]);
    expect(saved.suggestedFilename() === "訪問看護報告書 10月.pdf", `the download is named by its title: ${saved.suggestedFilename()}`);
    await shoot(nursePage, "document-attached", ["phone"]);
  });

  await step("a care manager says in one step what her office can take; a nurse finds it, fresh, with who said it and when", async () => {
    const cm = careManager.page;
    await cm.goto(base + "/directory");
    await cm.getByRole("heading", { level: 1, name: "事業所をさがす" }).waitFor();
    await cm.getByRole("button", { name: "受け入れ状況を更新" }).click();
    const form = cm.getByRole("form", { name: "受け入れ状況を更新" });
    await form.getByLabel("条件付きで可").check();
    await form.getByRole("button", { name: "更新する" }).click();
    await form.getByText("⚠ 条件を入力してください。", { exact: true }).waitFor();
    await form.getByRole("textbox", { name: "条件" }).fill("要介護3まで。吸引のある方は要相談。");
    await form.getByLabel(/^あと何人/).fill("2");
    await shoot(cm, "directory-update");
    await form.getByRole("button", { name: "更新する" }).click();
    await cm.getByText(/更新しました。市内のケアマネジャーにすぐ表示されます/).waitFor();

    const page = nurse.page;
    await page.goto(base + "/directory");
    const sites = page.getByRole("list", { name: "事業所の一覧" });
    const office = sites.getByRole("listitem").filter({ hasText: "みずうみ居宅介護支援事業所" });
    await office.getByText("条件付きで可").waitFor();
    await office.getByText("最新").waitFor();
    await office.getByText("要介護3まで。吸引のある方は要相談。").waitFor();
    await office.getByText("新規の受け入れ：あと2人").waitFor();
    await office.getByText(/更新（看護 花子（主任介護支援専門員）・みずうみ居宅介護支援事業所）/).waitFor();
    // Sites that never said are listed too, with a word to phone them.
    await sites.getByRole("listitem").filter({ hasText: "よそ訪問看護ステーション" }).getByText(/まだ登録されていません/).waitFor();
    await page.getByLabel("受け入れ可・条件付きのみ").check();
    await sites.getByRole("listitem").filter({ hasText: "よそ訪問看護ステーション" }).waitFor({ state: "detached" });
    await shoot(page, "directory", ["phone", "tablet", "pc"]);

    // The secretariat keeps the office's listing; a nurse then finds it by what it can do.
    const sec = secretariat.page;
    await sec.goto(base + "/directory");
    const card = sec.getByRole("list", { name: "事業所の一覧" }).getByRole("listitem").filter({ hasText: "みずうみ居宅介護支援事業所" });
    await card.getByRole("button", { name: "掲載情報を編集" }).click();
    const listing = card.getByRole("form", { name: "掲載情報を編集" });
    await listing.getByLabel(/^緯度/).fill("95");
    await listing.getByLabel(/^経度/).fill("132.755");
    await listing.getByRole("button", { name: "掲載情報を保存する" }).click();
    await listing.locator(".field-error").first().waitFor();
    expect((await listing.getByLabel(/^緯度/).getAttribute("aria-invalid")) === "true", "the latitude says it is at fault");
    await listing.getByLabel(/^緯度/).fill("35.367");
    await listing.getByLabel("喀痰吸引").check();
    await listing.getByLabel("看取り・ターミナルケア").check();
    await listing.getByLabel(/^受付時間/).fill("平日 8:30〜17:30");
    await listing.getByRole("button", { name: "掲載情報を保存する" }).click();
    await card.getByText("受付：平日 8:30〜17:30").waitFor();
    await shoot(sec, "directory-listing", ["phone"]);

    await page.reload();
    await page.getByRole("combobox", { name: "対応できること" }).selectOption("suction");
    await sites.getByRole("listitem").filter({ hasText: "みずうみ居宅介護支援事業所" }).getByText("喀痰吸引").waitFor();
    await sites.getByRole("listitem").filter({ hasText: "よそ訪問看護ステーション" }).waitFor({ state: "detached" });
  });

  await step("settings, and signing out in one tab signs every tab out", async () => {
    const { context, page } = nurse;
    const other = await context.newPage();
    watch(other, "nurse (second tab)", problems);
    await other.goto(base + "/patients");
    await other.getByRole("heading", { name: "担当の患者さん", exact: true }).waitFor();
    await page.goto(base + "/settings");
    await page.getByRole("heading", { name: "設定", exact: true }).waitFor();
    await shoot(page, "settings");
    await page.getByRole("button", { name: "この端末でサインアウト" }).click();
    await page.getByText("サインアウトしました。").waitFor();
    await other.getByRole("heading", { name: "サインイン", exact: true }).waitFor({ timeout: 5_000 });
    expect((await other.getByText(patient.name).count()) === 0, "the other tab shows nothing of the patient any more");
    await shoot(other, "signed-out-other-tab", ["phone"]);
    const cookies = await context.cookies();
    expect(!cookies.some((c) => c.name === "tsunagu_refresh" && c.value), "the refresh cookie is gone");
  });

  await step("English is a switch away, and the screens stay accessible in it", async () => {
    const { page } = auditor;
    await page.goto(base + "/settings");
    await page.getByRole("button", { name: "English" }).first().click();
    await page.getByRole("heading", { name: "Settings", exact: true }).waitFor();
    expect((await page.evaluate(() => document.documentElement.lang)) === "en", "the page says it is in English");
    await accessible(page, "settings (en)");
    await shoot(page, "settings-english", ["phone"]);
    await page.getByRole("button", { name: "日本語" }).first().click();
    await page.getByRole("heading", { name: "設定", exact: true }).waitFor();
  });
} catch (error) {
  console.error(`FAILED: ${error.message}`);
  for (const { page, who } of [nurse, secretariat, outsider, auditor, centre, careManager]) {
    await page.screenshot({ path: `${config.output_dir}/failure-${who}.png`, fullPage: true }).catch(() => {});
  }
  problems.push(error.message);
} finally {
  await browser.close();
}

console.log(`browser tests: ${((Date.now() - started) / 1000).toFixed(1)}s, screenshots in ${config.output_dir}`);
if (problems.length) {
  for (const p of problems) console.error(`problem: ${p}`);
  process.exit(1);
}
