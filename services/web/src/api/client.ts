// The API client, typed from the served OpenAPI document (generated at build time into
// schema.gen.ts): a route that changes or goes away breaks the build, not the user.
// Every request carries the session's access token; a 401 is retried once with a token
// refreshed (or adopted from another tab), and ends the session when none can be had.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.gen";
import { ApiProblem, isProblem, offline } from "./problem";
import { origin, session } from "../auth/session";

const copies = new Map<string, { request: Request; token: string }>();

const bearer: Middleware = {
  async onRequest({ request, id }) {
    const token = await session.accessToken();
    if (!token) throw new ApiProblem({ type: "about:blank", title: "signed out", status: 401 });
    request.headers.set("Authorization", `Bearer ${token}`);
    copies.set(id, { request: request.clone(), token });
    return request;
  },
  async onResponse({ response, id }) {
    const copy = copies.get(id);
    copies.delete(id);
    if (response.status !== 401 || !copy) return response;
    const token = await session.afterUnauthorized(copy.token);
    if (!token) return response;
    copy.request.headers.set("Authorization", `Bearer ${token}`);
    return fetch(copy.request);
  },
  onError({ id, error }) {
    copies.delete(id);
    return error instanceof ApiProblem ? error : offline();
  },
};

export const api = createClient<paths>({ baseUrl: origin() });
api.use(bearer);

/** The value of an answer, or its problem raised as an [`ApiProblem`]. */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let answer;
  try {
    answer = await call;
  } catch (e) {
    throw e instanceof ApiProblem ? e : offline();
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) return data;
  if (isProblem(error)) throw new ApiProblem(error);
  throw new ApiProblem({ type: "about:blank", title: response.statusText, status: response.status });
}

async function accessToken(): Promise<string> {
  const token = await session.accessToken();
  if (!token) throw new ApiProblem({ type: "about:blank", title: "signed out", status: 401 });
  return token;
}

/** A non-JSON answer (a file, CSV, NDJSON, FHIR) read into memory: a photo to show, a file
 * to save. Fetched with the access token, never a cookie. */
export async function fetchFile(path: string): Promise<Blob> {
  const token = await accessToken();
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } }).catch(() => {
    throw offline();
  });
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    throw new ApiProblem(
      isProblem(body) ? body : { type: "about:blank", title: response.statusText, status: response.status },
    );
  }
  return response.blob();
}

export type FileStored = components["schemas"]["FileStored"];

/** A file sent to the file store (`POST /api/v1/files`) as raw bytes, reporting how much has
 * gone (0–1) as it goes: a video from a phone takes a while on a weak signal. */
export async function upload(file: Blob, onProgress?: (sent: number) => void): Promise<FileStored> {
  const token = await accessToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${origin()}/api/v1/files`);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const body: unknown = xhr.response;
      if (xhr.status === 201 && body) resolve(body as FileStored);
      else
        reject(new ApiProblem(isProblem(body) ? body : { type: "about:blank", title: xhr.statusText, status: xhr.status }));
    };
    xhr.onerror = () => reject(offline());
    xhr.send(file);
  });
}

/** A non-JSON answer (CSV, NDJSON, FHIR) as a file the person can save. */
export async function download(path: string, filename: string): Promise<void> {
  const url = URL.createObjectURL(await fetchFile(path));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A command's value and the position of its event (`Tsunagu-Position`), which a later read
 * passes as `Tsunagu-Min-Position` to see its own write. */
export async function written<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<{ value: T; position: string | null }> {
  let position: string | null = null;
  const value = await must(
    call.then((answer) => {
      position = answer.response.headers.get("tsunagu-position");
      return answer;
    }),
  );
  return { value, position };
}
