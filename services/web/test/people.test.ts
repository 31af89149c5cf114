import { describe, expect, it } from "vitest";
import { nameMatches, personInWords, searchable } from "../src/lib/people";
import { whatInWords } from "../src/lib/audit";

describe("people and what they read, in words", () => {
  it("names a colleague by name, profession and site, never by id", () => {
    expect(personInWords({ name: "看護 花子", profession: "nurse", site_name: "ひかり訪問看護" }, "ja")).toBe("看護 花子（看護師）・ひかり訪問看護");
    expect(personInWords({ name: "運用者" }, "ja")).toBe("運用者");
    expect(personInWords({ name: "Hanako", profession: "nurse", site_name: null }, "en")).toBe("Hanako（Nurse）");
  });

  it("says a post's file and a consultation in words", () => {
    expect(whatInWords(`file:${"ab".repeat(32)}`, "ja")).toBe("添付ファイル");
    expect(whatInWords("consultation:01a2", "ja")).toBe("センターへの相談");
  });
});

describe("finding a patient by name or reading", () => {
  it("finds the same person whichever kana and width is typed", () => {
    expect(searchable("ｶﾝｺﾞ ﾊﾅｺ")).toBe("カンゴハナコ");
    expect(nameMatches("かんご", "看護 花子", "カンゴ ハナコ")).toBe(true);
    expect(nameMatches("ｶﾝｺﾞ", "看護 花子", "カンゴ ハナコ")).toBe(true);
    expect(nameMatches("看護花子", "看護 花子", "カンゴ ハナコ")).toBe(true);
    expect(nameMatches("いずも", "看護 花子", "カンゴ ハナコ")).toBe(false);
    expect(nameMatches("", "看護 花子", null)).toBe(true);
  });
});
