// Calls to supervision with the bearer token. A 401 means the token is no good: log in again.
// Any other failure becomes an ApiError carrying the server's own `detail` text for the page.

import { currentToken, relogin, resetAttempts } from "./auth.js";

export const API = "/api/v1/supervision";

let config = null;

export function setConfig(value) {
  config = value;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** FastAPI says `detail` as a string, or as a list of validation errors (422). */
function detailText(body, response) {
  const detail = body?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d.loc ? `${d.loc.filter((x) => x !== "body").join(".")}: ${d.msg}` : d.msg)).join("；");
  }
  if (detail) return JSON.stringify(detail);
  return `请求失败 (HTTP ${response.status} ${response.statusText})`;
}

function url(path) {
  return path.startsWith("/") ? path : `${API}/${path}`;
}

/** The raw response of a successful call (the live stream reads its body). */
export async function request(path, { method = "GET", body, signal, accept = "application/json" } = {}) {
  const token = currentToken();
  if (!token) return relogin(config);
  const headers = { Authorization: `Bearer ${token}`, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "无法连接监察服务，请检查网络 (network error)");
  }
  if (response.status === 401) return relogin(config);
  if (!response.ok) {
    const parsed = await response.json().catch(() => null);
    throw new ApiError(response.status, detailText(parsed, response));
  }
  resetAttempts();
  return response;
}

/** GET/POST → parsed JSON. `path` is relative to the supervision API unless it starts with "/". */
export async function api(path, options) {
  const response = await request(path, options);
  return response.json();
}

/** A query string from the non-empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Fetch JSON with the token and save it as a file (a plain link would not carry the token). */
export async function download(path, filename) {
  const response = await request(path);
  const blob = new Blob([await response.text()], { type: "application/json" });
  const href = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
