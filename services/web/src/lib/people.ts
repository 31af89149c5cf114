// A colleague as every screen names them: name, profession in words, and the site they act
// for (看護 花子（看護師）・ひかり訪問看護ステーション). Never an id.
import { PROFESSIONS, word, type Lang } from "./terms";

export interface Named {
  name: string;
  profession?: string | null;
  site_name?: string | null;
}

export function personInWords(person: Named, lang: Lang): string {
  const profession = person.profession ? word(PROFESSIONS, person.profession, lang) : null;
  return `${person.name}${profession ? `（${profession}）` : ""}${person.site_name ? `・${person.site_name}` : ""}`;
}

/** A name as a search compares it: width folded (ｶﾅ → カナ), hiragana as katakana, no
 * spaces, Latin letters in lower case — so かんご, カンゴ and ｶﾝｺﾞ find the same person. */
export function searchable(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60))
    .replace(/\s+/g, "")
    .toLowerCase();
}

/** Whether a person's name or reading holds what was typed. */
export function nameMatches(typed: string, name: string, kana?: string | null): boolean {
  const wanted = searchable(typed);
  if (!wanted) return true;
  return searchable(name).includes(wanted) || searchable(kana ?? "").includes(wanted);
}
