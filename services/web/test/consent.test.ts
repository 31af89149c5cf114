import { describe, expect, it } from "vitest";
import { categoriesInWords, currentVersions, periodInWords, sitesInWords, type ConsentSummary } from "../src/lib/consent";

const names: Record<string, string> = { s1: "ひかり訪問看護ステーション", s2: "つむぎ薬局" };
const siteName = (id: string) => names[id] ?? id;

describe("a consent in words", () => {
  it("says which sites, naming exclusions and lists", () => {
    expect(sitesInWords({ model: "all_participating_sites", excluded: [] }, siteName, "ja")).toBe(
      "参加しているすべての事業所（一括同意）",
    );
    expect(sitesInWords({ model: "all_participating_sites", excluded: ["s2"] }, siteName, "ja")).toBe(
      "参加しているすべての事業所（一括同意）。ただし つむぎ薬局 を除く",
    );
    expect(sitesInWords({ model: "listed_sites", sites: ["s1", "s2"] }, siteName, "ja")).toBe(
      "ひかり訪問看護ステーション、つむぎ薬局 のみ",
    );
    expect(sitesInWords({ model: "site_by_site", site: "s1" }, siteName, "en")).toBe(
      "ひかり訪問看護ステーション (site by site)",
    );
  });

  it("says until when, or until withdrawn", () => {
    expect(periodInWords("2026-10-01", null, "ja")).toBe("2026年10月1日から（撤回されるまで）");
    expect(periodInWords("2026-10-01", "2027-03-31", "ja")).toBe("2026年10月1日から2027年3月31日まで");
  });

  it("names the kinds of information", () => {
    expect(categoriesInWords(["care_records", "medication"], "ja")).toBe("経過・介護記録、処方・服薬");
  });

  it("shows the latest version of each consent, and the one in force beside a pending amendment", () => {
    const v = (consent_id: string, version: number, status: ConsentSummary["status"]): ConsentSummary => ({
      consent_id,
      version,
      status,
      model: { model: "site_by_site", site: "s1" },
      categories: ["care_records"],
      valid_from: "2026-10-01",
    });
    const shown = currentVersions([v("a", 1, "superseded"), v("a", 2, "active"), v("b", 1, "active"), v("b", 2, "pending")]);
    expect(shown.map((c) => `${c.consent_id}${c.version}:${c.status}`)).toEqual(["a2:active", "b2:pending", "b1:active"]);
  });
});
