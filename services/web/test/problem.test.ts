import { describe, expect, it } from "vitest";
import { explain, explainFields, type Problem } from "../src/api/problem";

const invalid: Problem = {
  type: "https://tsunagu.example/problems/invalid-field",
  title: "A field has an invalid value",
  status: 422,
  detail: "the code is wrong; check the authenticator's clock",
  errors: [{ pointer: "/code", detail: "the code is wrong; check the authenticator's clock" }],
};

describe("problem details in plain Japanese", () => {
  it("puts the service's detail beside the field at fault, in Japanese", () => {
    const { fields, general } = explainFields(invalid, "ja");
    expect(fields["code"]).toBe("確認コードが違います。認証アプリの時刻が正しいか確かめてください。");
    expect(general).toBeNull();
  });

  it("keeps English for English readers", () => {
    expect(explainFields(invalid, "en").fields["code"]).toBe("the code is wrong; check the authenticator's clock");
  });

  it("explains a refusal by its reason", () => {
    const refused: Problem = { type: "x/access-denied", title: "Access denied", status: 403, detail: "consent_pending" };
    expect(explain(refused.detail, refused, "ja")).toMatch(/事務局の確認がまだ/);
  });

  it("says something sensible for a detail it does not know", () => {
    const odd: Problem = { type: "x/conflict", title: "Conflict", status: 409, detail: "something new" };
    expect(explain(odd.detail, odd, "ja")).toMatch(/ほかの人が先に変更した/);
    const away: Problem = { type: "about:blank#offline", title: "offline", status: 0 };
    expect(explain(null, away, "ja")).toMatch(/インターネット/);
  });

  it("carries numbers from the detail into the words", () => {
    const locked: Problem = { type: "x/locked-out", title: "Too many", status: 429, detail: "try again in 42 seconds" };
    expect(explain(locked.detail, locked, "ja")).toContain("42秒後");
  });
});
