import { describe, expect, it } from "vitest";
import { ageOn, dateOfBirth, dateTime, eraOf, fiscalYearLabel, fiscalYearOf, parseDate, readDate, todayInJapan, wareki } from "../src/lib/dates";

describe("和暦", () => {
  it("names the era of a date of birth, with 元年 for an era's first year", () => {
    expect(wareki("1938-05-03")).toBe("昭和13年5月3日");
    expect(wareki("1989-01-07")).toBe("昭和64年1月7日");
    expect(wareki("1989-01-08")).toBe("平成元年1月8日");
    expect(wareki("2019-04-30")).toBe("平成31年4月30日");
    expect(wareki("2019-05-01")).toBe("令和元年5月1日");
    expect(wareki("1926-12-25")).toBe("昭和元年12月25日");
    expect(wareki("1912-07-30")).toBe("大正元年7月30日");
  });

  it("refuses dates that do not exist rather than rolling them over", () => {
    expect(parseDate("2026-02-30")).toBeNull();
    expect(wareki("2026-02-30")).toBe("2026-02-30");
    expect(parseDate("2024-02-29")).toEqual({ year: 2024, month: 2, day: 29 });
  });

  it("gives the era in English too", () => {
    expect(eraOf({ year: 1938, month: 5, day: 3 })).toEqual({ era: "昭和", roman: "Shōwa", year: 13 });
  });
});

describe("ages and today in Japan", () => {
  it("counts a birthday only once it has come", () => {
    expect(ageOn({ year: 1938, month: 5, day: 3 }, { year: 2026, month: 5, day: 2 })).toBe(87);
    expect(ageOn({ year: 1938, month: 5, day: 3 }, { year: 2026, month: 5, day: 3 })).toBe(88);
  });

  it("takes today from Japan's clock, not the device's zone", () => {
    // 15:30 UTC on 31 March is 00:30 on 1 April in Japan.
    expect(todayInJapan(new Date("2027-03-31T15:30:00Z"))).toEqual({ year: 2027, month: 4, day: 1 });
  });

  it("writes a date of birth as people read it", () => {
    const now = new Date("2026-10-01T00:00:00Z");
    expect(dateOfBirth("1938-05-03", "ja", now)).toBe("昭和13年5月3日生（88歳）");
    expect(dateOfBirth("1938-05-03", "en", now)).toBe("3 May 1938 (Shōwa 13), age 88");
  });
});

describe("年度", () => {
  it("runs April to March", () => {
    expect(fiscalYearOf({ year: 2027, month: 3, day: 31 })).toBe(2026);
    expect(fiscalYearOf({ year: 2027, month: 4, day: 1 })).toBe(2027);
  });

  it("is named by the era of its first year", () => {
    expect(fiscalYearLabel(2026, "ja")).toBe("令和8年度");
    expect(fiscalYearLabel(2019, "ja")).toBe("令和元年度");
    expect(fiscalYearLabel(1988, "ja")).toBe("昭和63年度");
    expect(fiscalYearLabel(2026, "en")).toBe("FY2026 (Reiwa 8)");
  });
});

describe("times", () => {
  it("are shown in Japan time whatever the device's zone", () => {
    expect(dateTime("2026-10-01T00:05:00Z", "ja")).toBe("2026年10月1日 9:05");
    expect(dateTime("2026-09-30T15:00:00Z", "en")).toBe("1 Oct 2026, 00:00 JST");
  });
});

describe("a date as a person types it", () => {
  it("reads 西暦 in the forms people write it", () => {
    expect(readDate("1938-05-03")).toBe("1938-05-03");
    expect(readDate("1938/5/3")).toBe("1938-05-03");
    expect(readDate("１９３８年５月３日")).toBe("1938-05-03");
  });

  it("reads 和暦 by era name or initial, 元年 included", () => {
    expect(readDate("昭和13年5月3日")).toBe("1938-05-03");
    expect(readDate("S13.5.3")).toBe("1938-05-03");
    expect(readDate("s13/5/3")).toBe("1938-05-03");
    expect(readDate("平成元年1月8日")).toBe("1989-01-08");
    expect(readDate("令和元年5月1日")).toBe("2019-05-01");
  });

  it("refuses what is not a date, or not one of the era named", () => {
    expect(readDate("")).toBeNull();
    expect(readDate("昭和13年2月30日")).toBeNull();
    expect(readDate("平成32年1月1日")).toBeNull();
    expect(readDate("平成元年1月7日")).toBeNull();
    expect(readDate("出雲 太郎")).toBeNull();
  });
});
