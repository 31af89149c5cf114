import { describe, expect, it } from "vitest";
import { reasonInWords, roleInWords, whatInWords, whyInWords } from "../src/lib/audit";

describe("the audit log in words", () => {
  it("says why an access was allowed or refused", () => {
    expect(whyInWords("consent c-1 version 2, team seat m-1 at site s-1", "ja")).toBe("同意（第2版）があり、ケアチームの一員として");
    expect(whyInWords('registration data through "own_municipality"', "ja")).toBe("登録情報（同じ市町村の事務局として）");
    expect(whyInWords('break-glass (emergency) grant g-1 until 2026-10-01T13:00:00Z: "意識レベル低下"', "ja")).toBe("緊急アクセス（理由：意識レベル低下）");
    expect(whyInWords("refused: consent_pending", "ja")).toMatch(/^拒否：同意書は届いていますが/);
    expect(whyInWords("something else", "ja")).toBe("something else");
    expect(whyInWords("refused: consent_pending", "en")).toBe("refused: consent_pending");
  });

  it("names what was read and who read it", () => {
    expect(whatInWords("personal", "ja")).toBe("氏名・生年月日など");
    expect(whatInWords("care_records", "ja")).toBe("経過・介護記録");
    expect(roleInWords("profession:nurse", "ja")).toBe("看護師");
    expect(roleInWords("municipal_secretariat", "ja")).toBe("事務局");
  });
});

describe("a record's reason", () => {
  it("is said in words, whatever shape the event gave it", () => {
    expect(reasonInWords({ basis: { kind: "consent", version: 1 } }, "ja")).toBe("同意（第1版）とケアチーム");
    expect(reasonInWords({ reason: { kind: "not_on_care_team" } }, "ja")).toMatch(/^拒否：あなたはこの患者さんのケアチームに入っていない/);
    expect(reasonInWords({ basis: { kind: "registration", tie: "own_municipality" } }, "ja")).toBe("登録情報（同じ市町村の事務局として）");
    expect(reasonInWords("退職のため", "ja")).toBe("退職のため");
    expect(reasonInWords(null, "ja")).toBe("");
  });
});
