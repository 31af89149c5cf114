// Dates as people in Japan expect them: 和暦 for dates of birth and fiscal years (年度,
// April to March), every time in Japan time whatever the device's zone.

export const JAPAN_TIME = "Asia/Tokyo";

/** The eras of the Japanese calendar since the Gregorian calendar was adopted, latest first. */
const ERAS: readonly { name: string; roman: string; start: string }[] = [
  { name: "令和", roman: "Reiwa", start: "2019-05-01" },
  { name: "平成", roman: "Heisei", start: "1989-01-08" },
  { name: "昭和", roman: "Shōwa", start: "1926-12-25" },
  { name: "大正", roman: "Taishō", start: "1912-07-30" },
  { name: "明治", roman: "Meiji", start: "1873-01-01" },
];

/** A calendar date (`YYYY-MM-DD`) as its parts. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export function parseDate(text: string): CalendarDate | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  return { year, month, day };
}

function iso(d: CalendarDate): string {
  return `${String(d.year).padStart(4, "0")}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
}

/** The era and its year for a date (元年 for the first year), or null before 明治6年. */
export function eraOf(d: CalendarDate): { era: string; roman: string; year: number } | null {
  const text = iso(d);
  const era = ERAS.find((e) => e.start <= text);
  if (!era) return null;
  return { era: era.name, roman: era.roman, year: d.year - Number(era.start.slice(0, 4)) + 1 };
}

function eraYear(year: number): string {
  return year === 1 ? "元" : String(year);
}

/** 和暦 of a date: 昭和13年5月3日. */
export function wareki(text: string): string {
  const d = parseDate(text);
  if (!d) return text;
  const era = eraOf(d);
  if (!era) return `${d.year}年${d.month}月${d.day}日`;
  return `${era.era}${eraYear(era.year)}年${d.month}月${d.day}日`;
}

/** Today's date in Japan. */
export function todayInJapan(now: Date = new Date()): CalendarDate {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: JAPAN_TIME,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get("year"), month: get("month"), day: get("day") };
}

/** Age in whole years on `today`. */
export function ageOn(birth: CalendarDate, today: CalendarDate): number {
  const hadBirthday =
    today.month > birth.month || (today.month === birth.month && today.day >= birth.day);
  return today.year - birth.year - (hadBirthday ? 0 : 1);
}

/** A date of birth as people read it: 昭和13年5月3日生（88歳）, or in English with the era. */
export function dateOfBirth(text: string, lang: "ja" | "en", now: Date = new Date()): string {
  const d = parseDate(text);
  if (!d) return text;
  const age = ageOn(d, todayInJapan(now));
  const era = eraOf(d);
  if (lang === "ja") return `${wareki(text)}生（${age}歳）`;
  const western = new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC",
    day: "numeric",
    month: "long",
    year: "numeric",
  }).format(new Date(Date.UTC(d.year, d.month - 1, d.day)));
  return era ? `${western} (${era.roman} ${era.year}), age ${age}` : `${western}, age ${age}`;
}

/** The fiscal year (年度, April to March) a date falls in, by its starting year. */
export function fiscalYearOf(d: CalendarDate): number {
  return d.month >= 4 ? d.year : d.year - 1;
}

/** 令和8年度 (the era of the fiscal year's starting year: FY2019 is 令和元年度). */
export function fiscalYearLabel(startYear: number, lang: "ja" | "en"): string {
  const era = eraOf({ year: startYear, month: 12, day: 31 });
  if (lang === "en") return `FY${startYear}` + (era ? ` (${era.roman} ${era.year})` : "");
  return era ? `${era.era}${eraYear(era.year)}年度` : `${startYear}年度`;
}

/** An instant in Japan time: 2026年10月1日 9:05 / 1 Oct 2026, 09:05 JST. */
export function dateTime(isoInstant: string, lang: "ja" | "en"): string {
  const at = new Date(isoInstant);
  if (Number.isNaN(at.getTime())) return isoInstant;
  if (lang === "ja") {
    return new Intl.DateTimeFormat("ja-JP", {
      timeZone: JAPAN_TIME,
      year: "numeric",
      month: "long",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
    }).format(at);
  }
  return (
    new Intl.DateTimeFormat("en-GB", {
      timeZone: JAPAN_TIME,
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    }).format(at) + " JST"
  );
}

/** A calendar date (no time): 2026年10月1日 / 1 Oct 2026. */
export function calendarDate(text: string, lang: "ja" | "en"): string {
  const d = parseDate(text);
  if (!d) return text;
  if (lang === "ja") return `${d.year}年${d.month}月${d.day}日`;
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC",
    day: "numeric",
    month: "short",
    year: "numeric",
  }).format(new Date(Date.UTC(d.year, d.month - 1, d.day)));
}

/** The instant a Japan-time wall clock reading stands for (`2026-10-01`, `09:00`). */
export function japanInstant(date: string, time = "00:00"): string {
  return `${date}T${time}:00+09:00`;
}

const ERA_INITIALS: Record<string, string> = { M: "明治", T: "大正", S: "昭和", H: "平成", R: "令和" };

/** A date as a person types it — 西暦 (1938-05-03, 1938/5/3, 1938年5月3日) or 和暦 (昭和13年5月3日,
 * S13.5.3, 平成元年1月8日), full-width digits too — as `YYYY-MM-DD`, or null when it is not a
 * date (or not one of the era named: 平成32年 does not exist). */
export function readDate(typed: string): string | null {
  const text = typed
    .normalize("NFKC")
    .trim()
    .replace(/\s+/g, "")
    .replace(/元年/g, "1年")
    .toUpperCase();
  const western = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(text);
  if (western) return checked(Number(western[1]), Number(western[2]), Number(western[3]));
  const japanese = /^(明治|大正|昭和|平成|令和|[MTSHR])(\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(text);
  if (!japanese) return null;
  const name = ERA_INITIALS[japanese[1]!] ?? japanese[1]!;
  const index = ERAS.findIndex((e) => e.name === name);
  const era = ERAS[index]!;
  const year = Number(era.start.slice(0, 4)) + Number(japanese[2]) - 1;
  const date = checked(year, Number(japanese[3]), Number(japanese[4]));
  if (!date || date < era.start) return null;
  const next = ERAS[index - 1];
  return next && date >= next.start ? null : date;
}

function checked(year: number, month: number, day: number): string | null {
  const text = iso({ year, month, day });
  return parseDate(text) ? text : null;
}
