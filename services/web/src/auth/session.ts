// The browser's session. The access token lives in this module's memory only (never in
// storage, so it dies with the tab); the refresh token is an HttpOnly cookie the page's
// script cannot read, sent by the browser to the refresh route alone.
//
// Every open tab of the application shares one session:
// - a refresh happens in one tab at a time (a Web Lock), because a refresh token works
//   once and two tabs using the same one would end the session; the new access token is
//   passed to the other tabs (BroadcastChannel), which adopt it instead of refreshing;
// - signing in or out in one tab signs every tab in or out;
// - a revocation (signed out elsewhere, deactivated, roles changed) shows as a 401 that a
//   refresh cannot cure, in whichever tab asks first, and that tab tells the others. Open
//   tabs ask at least once a minute while visible, and whenever they come back into view.
import createClient from "openapi-fetch";
import type { components, paths } from "../api/schema.gen";
import { ApiProblem, isProblem, offline, type Problem } from "../api/problem";

export type Me = components["schemas"]["MemberView"];

export type SessionState =
  | { status: "restoring" }
  | { status: "signed-out"; why: "start" | "signed-out" | "ended" }
  | { status: "signed-in"; me: Me };

type Message =
  | { type: "token"; token: string; expiresAt: number }
  | { type: "signed-out"; why: "signed-out" | "ended" };

/** Refresh this long before the access token expires. */
const EARLY_MS = 60_000;
/** How often an open, visible tab checks that its session still stands. */
const CHECK_MS = 60_000;
const COOKIE = { "Tsunagu-Refresh-Cookie": true } as const;

/** This page's origin: the API is always same-origin (the gateway serves the page). */
export function origin(): string {
  return typeof location !== "undefined" ? location.origin : "http://localhost";
}

/** Requests that carry no access token: signing in, refreshing. */
export const raw = createClient<paths>({ baseUrl: origin() });

function problemOf(error: unknown, status: number): Problem {
  return isProblem(error) ? error : { type: "about:blank", title: "error", status };
}

export class Session {
  private state: SessionState = { status: "restoring" };
  private token: string | null = null;
  private expiresAt = 0;
  private listeners = new Set<() => void>();
  private channel: BroadcastChannel | null = null;
  private refreshing: Promise<string | null> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly now: () => number = Date.now) {
    if (typeof BroadcastChannel !== "undefined") {
      this.channel = new BroadcastChannel("tsunagu-session");
      this.channel.onmessage = (e: MessageEvent<Message>) => void this.hear(e.data);
    }
  }

  // ── for React ─────────────────────────────────────────────────────────────────────
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  snapshot = (): SessionState => this.state;

  private set(state: SessionState) {
    this.state = state;
    for (const l of this.listeners) l();
  }

  // ── the token ─────────────────────────────────────────────────────────────────────
  private fresh(): boolean {
    return this.token !== null && this.expiresAt - this.now() > EARLY_MS;
  }

  private adopt(token: string, expiresInSeconds: number) {
    this.token = token;
    this.expiresAt = this.now() + expiresInSeconds * 1000;
    this.schedule();
  }

  private schedule() {
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.max(5_000, this.expiresAt - this.now() - EARLY_MS);
    this.timer = setTimeout(() => void this.accessToken(), wait);
  }

  /** A valid access token, refreshed first when it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    if (this.fresh()) return this.token;
    if (this.state.status === "signed-out") return null;
    return this.refresh();
  }

  /** After a 401 with `used`: a newer token if another tab or request got one, else a
   * refresh; null when the session has ended. */
  async afterUnauthorized(used: string): Promise<string | null> {
    if (this.token && this.token !== used && this.fresh()) return this.token;
    this.expiresAt = 0;
    return this.refresh();
  }

  private refresh(): Promise<string | null> {
    this.refreshing ??= this.exclusively(async () => {
      // Another tab may have refreshed while this one waited for the lock.
      if (this.fresh()) return this.token;
      const { data, error, response } = await raw
        .POST("/api/v1/sessions/refresh", { params: { header: COOKIE }, body: {} })
        .catch(() => ({ data: undefined, error: undefined, response: undefined }));
      if (data) {
        this.adopt(data.access_token, data.expires_in);
        this.tell({ type: "token", token: data.access_token, expiresAt: this.expiresAt });
        return this.token;
      }
      if (response && (response.status === 401 || response.status === 403)) {
        // At start there was simply no session to restore; later, it has ended.
        if (this.state.status === "restoring") this.forget();
        else this.end("ended");
        return null;
      }
      // Offline or the platform unavailable: keep the session, say so to the caller.
      throw problemOf(error, response?.status ?? 0);
    }).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async exclusively<T>(work: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (!locks) return work();
    return locks.request("tsunagu-refresh", work);
  }

  // ── signing in and out ────────────────────────────────────────────────────────────
  /** At start: a session the refresh cookie still holds, or the sign-in screen. */
  async restore(): Promise<void> {
    try {
      const token = await this.refresh();
      if (token) await this.loadMe();
      else this.set({ status: "signed-out", why: "start" });
    } catch {
      this.set({ status: "signed-out", why: "start" });
    }
  }

  /** Signs in; the problem (wrong code, locked out…) when it did not work. */
  async signIn(username: string, password: string, code: string): Promise<Problem | null> {
    const answer = await raw
      .POST("/api/v1/sessions", {
        params: { header: COOKIE },
        body: { username, password, code },
      })
      .catch(() => null);
    if (!answer) return offline().problem;
    const { data, error, response } = answer;
    if (!data) return problemOf(error, response.status);
    this.adopt(data.access_token, data.expires_in);
    this.tell({ type: "token", token: data.access_token, expiresAt: this.expiresAt });
    await this.loadMe();
    return null;
  }

  /** Signs this session out, in every tab. */
  async signOut(): Promise<void> {
    const token = this.token;
    if (token) {
      await raw
        .DELETE("/api/v1/sessions/current", { headers: { Authorization: `Bearer ${token}` } })
        .catch(() => undefined);
    }
    this.end("signed-out");
  }

  /** Ends the session here and in every other tab (after sign-out or revocation). */
  end(why: "signed-out" | "ended") {
    this.forget();
    this.set({ status: "signed-out", why });
    this.tell({ type: "signed-out", why });
  }

  private forget() {
    this.token = null;
    this.expiresAt = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async loadMe(): Promise<void> {
    const token = this.token;
    if (!token) return;
    const { data, response } = await raw.GET("/api/v1/me", {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (data) this.set({ status: "signed-in", me: data });
    else if (response.status === 401) this.end("ended");
    else throw new ApiProblem({ type: "about:blank", title: "me", status: response.status });
  }

  /** Asks whether the session still stands (a 401 the refresh cannot cure ends it). */
  async check(): Promise<void> {
    if (this.state.status !== "signed-in") return;
    const token = await this.accessToken().catch(() => null);
    if (!token) return;
    const { response } = await raw
      .GET("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } })
      .catch(() => ({ response: undefined }));
    if (response?.status === 401) await this.afterUnauthorized(token).catch(() => null);
  }

  /** Checks every minute while the tab is visible, and when it comes back into view. */
  watch(): () => void {
    const onVisible = () => {
      if (document.visibilityState === "visible") void this.check();
    };
    document.addEventListener("visibilitychange", onVisible);
    const every = setInterval(onVisible, CHECK_MS);
    return () => {
      document.removeEventListener("visibilitychange", onVisible);
      clearInterval(every);
    };
  }

  // ── other tabs ────────────────────────────────────────────────────────────────────
  private tell(message: Message) {
    this.channel?.postMessage(message);
  }

  private async hear(message: Message) {
    if (message.type === "signed-out") {
      if (this.state.status === "signed-out") return;
      this.forget();
      this.set({ status: "signed-out", why: message.why });
      return;
    }
    if (message.expiresAt <= this.expiresAt) return;
    this.token = message.token;
    this.expiresAt = message.expiresAt;
    this.schedule();
    if (this.state.status !== "signed-in") await this.loadMe().catch(() => undefined);
  }
}

export const session = new Session();
