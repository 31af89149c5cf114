// The audit log's words for people: why an access was allowed or refused (the report's
// `why`, written by the audit service in a fixed English form), what was read, and who.
import { explain } from "../api/problem";
import { CATEGORIES, PROFESSIONS, ROLES, word, type Lang } from "./terms";

const TIES: Record<string, [string, string]> = {
  on_patient_team: ["ケアチームの一員", "on the care team"],
  own_municipality: ["同じ市町村の事務局", "the municipality's secretariat"],
  registering_site: ["登録した事業所", "the registering site"],
  break_glass: ["緊急アクセス", "break-glass"],
};

/** The audit service's `why`, in words. Ids stay as they are (they prove which record). */
export function whyInWords(why: string, lang: Lang): string {
  if (lang === "en") return why;
  let m = /^consent (\S+) version (\d+), team seat (\S+) at site (\S+)$/.exec(why);
  if (m) return `同意（第${m[2]}版）があり、ケアチームの一員として`;
  m = /^registration data through "?(\w+)"?$/.exec(why);
  if (m) return `登録情報（${word(TIES, m[1] ?? "", lang)}として）`;
  m = /^break-glass \(emergency\) grant (\S+) until (\S+?)(?:: "(.*)")?$/.exec(why);
  if (m) return m[3] ? `緊急アクセス（理由：${m[3]}）` : "緊急アクセス";
  m = /^refused: (\w+)$/.exec(why);
  if (m) return `拒否：${explain(m[1], { type: "access-denied", title: "", status: 403 }, lang)}`;
  return why;
}

/** What was read: a category, the personal data, the registration data. */
export function whatInWords(what: string, lang: Lang): string {
  if (what === "personal") return lang === "ja" ? "氏名・生年月日など" : "name, date of birth…";
  if (what === "registration") return lang === "ja" ? "登録情報" : "registration data";
  if (what.startsWith("document:")) return lang === "ja" ? "文書" : "a document";
  if (what.startsWith("post:")) return lang === "ja" ? "チームへの投稿" : "a post to the team";
  if (what.startsWith("file:")) return lang === "ja" ? "添付ファイル" : "an attached file";
  if (what.startsWith("consultation:")) return lang === "ja" ? "センターへの相談" : "a consultation with the centre";
  if (what === "timeline") return lang === "ja" ? "タイムライン" : "the timeline";
  return word(CATEGORIES, what, lang);
}

/** A role as recorded (`professional`, `profession:nurse`). */
export function roleInWords(role: string, lang: Lang): string {
  return role.startsWith("profession:") ? word(PROFESSIONS, role.slice("profession:".length), lang) : word(ROLES, role, lang);
}

/** A record's `reason` (the decision, or the words the event gave), in words. */
export function reasonInWords(reason: unknown, lang: Lang): string {
  if (typeof reason === "string") return reason;
  if (!reason || typeof reason !== "object") return "";
  const r = reason as { basis?: { kind?: string; tie?: string; version?: number }; reason?: { kind?: string } };
  if (r.reason?.kind) return whyInWords(`refused: ${r.reason.kind}`, lang);
  switch (r.basis?.kind) {
    case "consent":
      return lang === "ja" ? `同意（第${r.basis.version ?? "?"}版）とケアチーム` : `consent (version ${r.basis.version ?? "?"}) and care team`;
    case "registration":
      return whyInWords(`registration data through "${r.basis.tie ?? ""}"`, lang);
    case "break_glass":
      return lang === "ja" ? "緊急アクセス" : "break-glass";
    case "audit":
      return lang === "ja" ? "監査" : "audit";
    default:
      return "";
  }
}

/** A member or site the log names: its name (with a member's profession), or why not. */
export function nameInWords(
  view: { name?: string | null; profession?: string | null; withheld?: string | null } | null | undefined,
  lang: Lang,
): string {
  if (!view) return "—";
  if (view.name) {
    const profession = view.profession ? word(PROFESSIONS, view.profession, lang) : null;
    return profession ? `${view.name}（${profession}）` : view.name;
  }
  if (view.withheld === "other_municipality") return lang === "ja" ? "他の市町村の職員・事業所" : "of another municipality";
  return lang === "ja" ? "（登録の記録なし）" : "(no registration on record)";
}
