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
