// Problem details (RFC 9457) as a person reads them: the field at fault and what is wrong
// with it in plain Japanese. The services word their `detail` in English; the phrases they
// use are translated here, and anything not (yet) in the table is said by its kind of
// problem, with the service's own words kept beside it for whoever helps.
import type { Lang } from "../lib/terms";

export interface FieldProblem {
  pointer: string;
  detail: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  errors?: FieldProblem[];
}

/** An answer that was not a success, as the client raises it. */
export class ApiProblem extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

/** What a network failure looks like to the screens. */
export function offline(): ApiProblem {
  return new ApiProblem({ type: "about:blank#offline", title: "offline", status: 0 });
}

/** What went wrong with a call, as a screen shows it (a network failure included). */
export function problemOf(e: unknown): Problem {
  return e instanceof ApiProblem ? e.problem : offline().problem;
}

export function isProblem(value: unknown): value is Problem {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Problem).status === "number" &&
    typeof (value as Problem).title === "string"
  );
}

/** The problem's kind: the last segment of its `type` URI (`invalid-field`). */
export function kind(problem: Problem): string {
  return problem.type.split("/").pop() ?? "";
}

// Phrases the services use, in the words a care worker would use. First match wins.
const PHRASES: [RegExp, string][] = [
  [/the username, password or code is wrong/, "ユーザー名・パスワード・確認コードのどれかが違います。"],
  [/try again in (\d+) seconds/, "サインインの失敗が続いたため、$1秒後にもう一度お試しください。"],
  [/the code is wrong; check the authenticator's clock/, "確認コードが違います。認証アプリの時刻が正しいか確かめてください。"],
  [/unknown, used or expired/, "このリンクは使えません（使用済みか期限切れです）。招待した人に新しい招待を頼んでください。"],
  [/unknown or expired link/, "このリンクは使えません（期限切れです）。"],
  [/choose another username/, "このユーザー名はすでに使われています。別の名前にしてください。"],
  [/the account is not waiting for this step/, "このアカウントは登録済みです。サインインしてください。"],
  [/must be 1 to 64 lowercase|\^\[a-z0-9\._-\]\{3,64\}\$|username/, "ユーザー名は半角英小文字・数字・「.」「_」「-」で3〜64文字にしてください。"],
  [/at least 12 characters|length is less than 12|shorter than 12/, "パスワードは12文字以上にしてください。"],
  [/\^\[0-9\]\{6\}\$/, "確認コードは6桁の数字です。"],
  [/wrong check digit|check digit is/, "市町村コードの検査数字が合いません。番号を確かめてください。"],
  [/a phone number has 10 or 11 digits/, "電話番号は10桁か11桁です。"],
  [/a phone number starts with 0/, "電話番号は0から始まります。"],
  [/a phone number is digits and hyphens/, "電話番号は数字とハイフンで入力してください。"],
  [/a provider number is 10 digits/, "事業所番号は10桁です。"],
  [/a member holds at least one role/, "役割を1つ以上選んでください。"],
  [/a member with this role works at one site or more/, "この役割には所属事業所が必要です。"],
  [/you may not grant this role/, "この役割を付ける権限がありません。"],
  [/you may not manage these members|not yours to manage/, "この会員を管理する権限がありません。"],
  [/your roles do not allow this/, "この操作を行う権限がありません。"],
  [/you have no access to this patient/, "この患者さんの情報を見る権限がありません。ケアチームの一員で、有効な同意があるときに見られます。"],
  // The access decision's reasons, as a team member is told them.
  [/^not_on_care_team$/, "あなたはこの患者さんのケアチームに入っていないため、見ることができません。"],
  [/^no_consent$/, "この患者さんには有効な同意がないため、見ることができません。"],
  [/^consent_pending$/, "同意書は届いていますが、事務局の確認がまだです。確認が済むと見られるようになります。"],
  [/^consent_rejected$/, "同意書が差し戻されたため、見ることができません。"],
  [/^consent_expired$/, "同意の有効期限が過ぎたため、見ることができません。"],
  [/^consent_withdrawn$/, "同意が撤回されたため、見ることができません。"],
  [/^consent_not_yet_valid$/, "同意の有効期間がまだ始まっていません。"],
  [/^site_excluded$/, "この患者さんは、同意の対象からあなたの事業所を除いています。"],
  [/^site_not_covered$/, "同意の対象にあなたの事業所が含まれていません。"],
  [/^categories_not_covered$/, "同意の範囲にこの種類の情報は含まれていません。"],
  [/^care_ended$|the patient's care has ended/, "この患者さんのケアは終了しています。"],
  [/^other_municipality$/, "ほかの市町村の患者さんです。"],
  [/^not_permitted$/, "あなたの役割ではこの情報を見ることができません。"],
  [/^facts_behind$|^facts_for_another_patient$/, "患者さんの情報を更新中です。少し待ってから読み込み直してください。"],
  [/^not_registered$/, "この患者さんは登録されていません（登録が取り消されたか、まだ反映されていません）。"],
  [/^purpose_does_not_fit$/, "この目的では見ることができません。"],
  [/^no_category_asked$/, "見る情報の種類が指定されていません。"],
  [/^break_glass_only_for_emergencies$/, "緊急時のアクセスは緊急の目的でのみ使えます。"],
  [/the patient's record is being brought up to date/, "患者さんの情報を更新中です。少し待ってからもう一度お試しください。"],
  [/no such patient/, "該当する患者さんが見つかりません。"],
  [/no file you or your site uploaded has this digest/, "このファイルは添付できません。もう一度選び直してください。"],
  [/programs, scripts and macros are never accepted/, "プログラムやマクロ付きの文書は添付できません。"],
  [/^accepted: PDF, PNG, JPEG/, "添付できるのは写真（JPEG・PNG・HEIC など）、動画（MP4・MOV）、PDF、Word・Excel の文書です。"],
  [/attach at most (\d+) files/, "添付できるのは1回の投稿につき$1件までです。"],
  [/no such file on this post/, "この添付ファイルは表示できません（投稿が取り消されたか、ファイルがありません）。"],
  [/no such member/, "該当する会員が見つかりません。"],
  [/no such site/, "該当する事業所が見つかりません。"],
  [/no such organisation/, "該当する法人が見つかりません。"],
  [/no such consent/, "該当する同意が見つかりません。"],
  [/not pending|not-pending|no version waiting/, "この同意はすでに確認済みか、確認待ちではありません。"],
  [/the consent was withdrawn/, "この同意は撤回されています。"],
  [/give a reason of 1 to/, "理由を入力してください（500文字まで）。"],
  [/the refresh token|the session has ended|sign in first/, "サインインの有効期限が切れました。もう一度サインインしてください。"],
  [/could not be recorded/, "記録を残せなかったため、表示を止めました。少し待ってからもう一度お試しください。"],
  [/unavailable; try again|is unavailable/, "ただいまサービスにつながりにくくなっています。少し待ってからもう一度お試しください。"],
  [/Cross-site|the Origin is not this site/, "このページからはサインインできません。つなぐのページを開き直してください。"],
];

/** The Japanese (or English) words for a detail the services gave. */
export function explain(detail: string | null | undefined, problem: Problem, lang: Lang): string {
  if (lang === "en") return detail || problem.title;
  if (detail) {
    for (const [pattern, words] of PHRASES) {
      const m = pattern.exec(detail);
      if (m) return words.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? "");
    }
  }
  return byKind(problem);
}

function byKind(problem: Problem): string {
  switch (problem.status) {
    case 0:
      return "インターネットにつながっていないようです。電波の届く所でもう一度お試しください。";
    case 400:
    case 422:
      return "入力内容を確かめてください。";
    case 401:
      return "もう一度サインインしてください。";
    case 403:
      return "この操作を行う権限がありません。";
    case 404:
      return "見つかりませんでした。";
    case 408:
    case 504:
      return "時間がかかりすぎたため中断しました。もう一度お試しください。";
    case 409:
      return "ほかの人が先に変更したか、今の状態ではできない操作です。画面を読み込み直してください。";
    case 413:
      return "大きすぎて送れません。";
    case 415:
      return "この種類のファイルは添付できません。";
    case 429:
      return "操作が続いたため少し待っています。しばらくしてからお試しください。";
    default:
      return "うまくいきませんでした。時間をおいてもう一度お試しください。";
  }
}

/** The message for each field at fault, keyed by its JSON pointer without the leading `/`
 * (`username`, `model/sites/0`), and whatever is not about one field. */
export function explainFields(problem: Problem, lang: Lang): { fields: Record<string, string>; general: string | null } {
  const fields: Record<string, string> = {};
  for (const e of problem.errors ?? []) {
    const key = e.pointer.replace(/^\//, "");
    fields[key] ??= explain(e.detail, problem, lang);
  }
  const general =
    Object.keys(fields).length > 0 && (problem.status === 422 || problem.status === 400)
      ? null
      : explain(problem.detail, problem, lang);
  return { fields, general };
}

