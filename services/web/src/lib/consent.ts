// A consent's state in words: which sites, which kinds of information, from when until
// when, and where it stands — what a team member needs to know before relying on it.
import type { components } from "../api/schema.gen";
import { calendarDate } from "./dates";
import { CATEGORIES, CONSENT_STATUSES, word, type Lang } from "./terms";

export type ConsentSummary = components["schemas"]["ConsentSummary"];
type Model = components["schemas"]["ConsentModelSchema"];

/** A site's name by id, or a placeholder while it is not known. */
export type SiteName = (siteId: string) => string;

export function sitesInWords(model: Model, siteName: SiteName, lang: Lang): string {
  const list = (ids: string[]) => ids.map(siteName).join(lang === "ja" ? "、" : ", ");
  switch (model.model) {
    case "all_participating_sites":
      if (model.excluded.length === 0) {
        return lang === "ja" ? "参加しているすべての事業所（一括同意）" : "Every participating site (blanket consent)";
      }
      return lang === "ja"
        ? `参加しているすべての事業所（一括同意）。ただし ${list(model.excluded)} を除く`
        : `Every participating site (blanket consent) except ${list(model.excluded)}`;
    case "listed_sites":
      return lang === "ja" ? `${list(model.sites)} のみ` : `Only ${list(model.sites)}`;
    case "site_by_site":
      return lang === "ja" ? `${siteName(model.site)}（事業所ごとの同意）` : `${siteName(model.site)} (site by site)`;
  }
}

export function periodInWords(validFrom: string, validUntil: string | null | undefined, lang: Lang): string {
  const from = calendarDate(validFrom, lang);
  if (!validUntil) return lang === "ja" ? `${from}から（撤回されるまで）` : `From ${from} until withdrawn`;
  return lang === "ja" ? `${from}から${calendarDate(validUntil, lang)}まで` : `${from} to ${calendarDate(validUntil, lang)}`;
}

export function categoriesInWords(categories: string[], lang: Lang): string {
  // 、 between them: several names hold a ・ of their own (経過・介護記録).
  return categories.map((c) => word(CATEGORIES, c, lang)).join(lang === "ja" ? "、" : ", ");
}

export function statusInWords(status: ConsentSummary["status"], lang: Lang): string {
  return word(CONSENT_STATUSES, status, lang);
}

/** The versions that matter now: the latest of each consent (older ones were replaced). */
export function currentVersions(consents: ConsentSummary[]): ConsentSummary[] {
  const latest = new Map<string, ConsentSummary>();
  for (const c of consents) {
    const seen = latest.get(c.consent_id);
    // A pending amendment does not hide the version in force: both are shown.
    if (!seen || c.version > seen.version) latest.set(c.consent_id, c);
  }
  const inForce = consents.filter((c) => c.status === "active" && latest.get(c.consent_id) !== c);
  return [...latest.values(), ...inForce].sort((a, b) =>
    a.consent_id === b.consent_id ? b.version - a.version : a.consent_id.localeCompare(b.consent_id),
  );
}

/** Site ids a consent names, to look their names up. */
export function sitesNamed(model: Model): string[] {
  switch (model.model) {
    case "all_participating_sites":
      return model.excluded;
    case "listed_sites":
      return model.sites;
    case "site_by_site":
      return [model.site];
  }
}
