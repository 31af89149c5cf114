// A site's status as a care manager reads it: accepting in words, and how fresh it is —
// "最新" while fresh, "古い情報（9日前の更新）" after, so nobody relies on last week's word.
import type { components } from "../api/schema.gen";
import type { Lang } from "./terms";

export type AvailabilityView = components["schemas"]["AvailabilityView"];
export type Accepting = components["schemas"]["Accepting"];
export type Capability = components["schemas"]["Capability"];
export type ListingView = components["schemas"]["ListingView"];

export const CAPABILITIES: Record<Capability, [string, string]> = {
  suction: ["喀痰吸引", "Suction"],
  tube_feeding: ["経管栄養", "Tube feeding"],
  ivh: ["中心静脈栄養（IVH）", "IVH"],
  oxygen: ["在宅酸素", "Home oxygen"],
  stoma: ["ストーマ", "Stoma"],
  ventilator: ["人工呼吸器", "Ventilator"],
  dementia: ["認知症", "Dementia"],
  terminal_care: ["看取り・ターミナルケア", "Terminal care"],
  infections: ["感染症のある方", "Patients with infections"],
  children: ["小児・医療的ケア児", "Children"],
};

export const ACCEPTING: Record<Accepting, [string, string]> = {
  yes: ["受け入れ可", "Accepting"],
  no: ["受け入れ不可", "Not accepting"],
  conditional: ["条件付きで可", "With conditions"],
};

export function acceptingInWords(accepting: Accepting, lang: Lang): string {
  return ACCEPTING[accepting][lang === "ja" ? 0 : 1];
}

/** How fresh a status is, in words: fresh, or stale with its age. */
export function freshnessInWords(view: Pick<AvailabilityView, "fresh" | "age_days">, lang: Lang): string {
  if (view.fresh) return lang === "ja" ? "最新" : "Up to date";
  const age = view.age_days;
  if (lang === "en") return `Out of date (${age === 0 ? "today" : `${age} day${age === 1 ? "" : "s"} ago`})`;
  return `古い情報（${age === 0 ? "今日" : `${age}日前`}の更新）`;
}

/** Sites in the order a care manager looks: fresh and accepting first, then with
 * conditions, then stale or not accepting, then those that never said. */
export function rank(view: AvailabilityView | undefined): number {
  if (!view) return 9;
  const base = view.accepting === "yes" ? 0 : view.accepting === "conditional" ? 1 : 3;
  return view.fresh ? base : base + 4;
}
