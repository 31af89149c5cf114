// The session across tabs: two `Session`s in one process talk over the same
// BroadcastChannel, as two tabs of one browser do; the platform is a fake `fetch`.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Session as SessionType } from "../src/auth/session";

interface Call {
  method: string;
  path: string;
  auth: string | null;
  cookieMode: string | null;
}

let calls: Call[] = [];
let refreshAnswer: () => Response = () => json(401, { type: "x/unauthenticated", title: "no", status: 401 });
let issued = 0;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}

const me = {
  member_id: "m-1",
  name: "看護 花子",
  name_kana: "カンゴ ハナコ",
  profession: "nurse",
  roles: ["professional"],
  sites: ["s-1"],
  municipality: "322032",
  status: "active",
};

async function platform(input: Request): Promise<Response> {
  const url = new URL(input.url);
  calls.push({
    method: input.method,
    path: url.pathname,
    auth: input.headers.get("authorization"),
    cookieMode: input.headers.get("tsunagu-refresh-cookie"),
  });
  if (url.pathname === "/api/v1/sessions" && input.method === "POST") {
    issued += 1;
    return json(201, { access_token: `access-${issued}`, token_type: "Bearer", expires_in: 900, session_id: "s" });
  }
  if (url.pathname === "/api/v1/sessions/refresh") return refreshAnswer();
  if (url.pathname === "/api/v1/me") return json(200, me);
  if (url.pathname === "/api/v1/sessions/current") return json(200, { session_id: "s" });
  return json(404, { type: "x/not-found", title: "not found", status: 404 });
}

let Session: typeof SessionType;
const tabs: SessionType[] = [];

beforeAll(async () => {
  vi.stubGlobal("fetch", (input: Request) => platform(input));
  ({ Session } = await import("../src/auth/session"));
});

afterEach(() => {
  calls = [];
  issued = 0;
  for (const t of tabs.splice(0)) t.end("signed-out");
});

function tab(): SessionType {
  const s = new Session();
  tabs.push(s);
  return s;
}

describe("the browser session", () => {
  it("signs in asking for the refresh token as a cookie, and keeps the access token in memory", async () => {
    const a = tab();
    expect(await a.signIn("hanako", "correct horse battery", "123456")).toBeNull();
    expect(calls[0]).toMatchObject({ method: "POST", path: "/api/v1/sessions", cookieMode: "true" });
    expect(a.snapshot()).toMatchObject({ status: "signed-in", me: { name: "看護 花子" } });
    expect(await a.accessToken()).toBe("access-1");
  });

  it("signs every open tab in when one tab signs in, and out when one signs out", async () => {
    const a = tab();
    const b = tab();
    await b.restore(); // no session yet: the refresh answers 401
    expect(b.snapshot()).toEqual({ status: "signed-out", why: "start" });
    await a.signIn("hanako", "correct horse battery", "123456");
    await vi.waitFor(() => expect(b.snapshot().status).toBe("signed-in"));
    expect(await b.accessToken()).toBe("access-1");
    const refreshes = calls.filter((c) => c.path === "/api/v1/sessions/refresh").length;
    expect(refreshes).toBe(1); // only b's restore: it adopted a's token rather than refreshing

    await a.signOut();
    expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/v1/sessions/current" && c.auth === "Bearer access-1")).toBe(true);
    await vi.waitFor(() => expect(b.snapshot()).toEqual({ status: "signed-out", why: "signed-out" }));
    expect(await b.accessToken()).toBeNull();
  });

  it("ends the session in every tab when a 401 cannot be cured by a refresh (revoked elsewhere)", async () => {
    const a = tab();
    const b = tab();
    await a.signIn("hanako", "correct horse battery", "123456");
    await vi.waitFor(() => expect(b.snapshot().status).toBe("signed-in"));
    refreshAnswer = () => json(401, { type: "x/unauthenticated", title: "ended", status: 401 });
    expect(await a.afterUnauthorized("access-1")).toBeNull();
    expect(a.snapshot()).toEqual({ status: "signed-out", why: "ended" });
    await vi.waitFor(() => expect(b.snapshot()).toEqual({ status: "signed-out", why: "ended" }));
  });

  it("after a 401, takes the newer token another tab got instead of refreshing again", async () => {
    const a = tab();
    const b = tab();
    await a.signIn("hanako", "correct horse battery", "123456");
    await vi.waitFor(() => expect(b.snapshot().status).toBe("signed-in"));
    refreshAnswer = () => json(200, { access_token: "access-rotated", token_type: "Bearer", expires_in: 900, session_id: "s" });
    expect(await a.afterUnauthorized("access-1")).toBe("access-rotated");
    await vi.waitFor(async () => expect(await b.accessToken()).toBe("access-rotated"));
    const before = calls.filter((c) => c.path === "/api/v1/sessions/refresh").length;
    expect(await b.afterUnauthorized("access-1")).toBe("access-rotated");
    expect(calls.filter((c) => c.path === "/api/v1/sessions/refresh").length).toBe(before);
  });

  it("keeps the session when the network is down rather than signing the person out", async () => {
    const a = tab();
    await a.signIn("hanako", "correct horse battery", "123456");
    refreshAnswer = () => {
      throw new TypeError("network down");
    };
    await expect(a.afterUnauthorized("access-1")).rejects.toBeDefined();
    expect(a.snapshot().status).toBe("signed-in");
  });
});
