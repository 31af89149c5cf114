import { describe, expect, it } from "vitest";
import { match, query } from "../src/app/router";
import { currentItem, itemsFor, primaryFor } from "../src/app/nav";
import type { Me } from "../src/auth/session";

describe("the router", () => {
  it("matches a path and decodes its parameters", () => {
    expect(match("/patients/:id", "/patients/0191-ab")).toEqual({ id: "0191-ab" });
    expect(match("/patients/:id", "/patients")).toBeNull();
    expect(match("/audit/patients/:id", "/audit/patients/a%2Fb")).toEqual({ id: "a/b" });
  });

  it("leaves empty values out of a query string", () => {
    expect(query({ from: "2026-10-01", to: "", limit: 50, x: undefined })).toBe("?from=2026-10-01&limit=50");
    expect(query({})).toBe("");
  });
});

const me = (roles: string[]): Me => ({
  member_id: "m",
  name: "看護 花子",
  name_kana: "カンゴ ハナコ",
  profession: "nurse",
  roles,
  sites: [],
  municipality: "322032",
  status: "active",
});

describe("the navigation", () => {
  it("shows a nurse the care screens and no secretariat or audit screen", () => {
    const items = itemsFor(me(["professional"])).map((i) => i.to);
    expect(items).toContain("/patients");
    expect(items).not.toContain("/admin/consents");
    expect(items).not.toContain("/audit/records");
  });

  it("puts the secretariat's and the auditor's own work on the phone's bottom bar", () => {
    expect(primaryFor(me(["municipal_secretariat"])).map((i) => i.to)).toEqual([
      "/",
      "/admin/organisations",
      "/admin/members",
      "/admin/consents",
    ]);
    expect(primaryFor(me(["auditor"])).map((i) => i.to)).toEqual(["/", "/audit/records", "/audit/patients", "/audit/verification"]);
  });

  it("marks the item a deeper page belongs to", () => {
    expect(currentItem("/patients/0191")).toBe("/patients");
    expect(currentItem("/")).toBe("/");
    expect(currentItem("/audit/patients/p1")).toBe("/audit/patients");
  });
});
