// Login: OpenID Connect authorization code with PKCE (S256) against the configured issuer.
// The token lives in sessionStorage (gone when the tab closes). The browser decodes the token's
// payload only to show who is logged in and to know when it expires: the server verifies it.

import { BASE } from "./config.js";
import { sha256 } from "@noble/hashes/sha2.js"; // audited, for a plain-http intranet without crypto.subtle

const TOKEN = "lianban.console.token"; // {access_token, expires_at}
const PENDING = "lianban.console.login"; // {state, verifier, hash} while at the provider
const ATTEMPTS = "lianban.console.logins"; // recent redirects, to stop a login loop
const SKEW_MS = 10_000; // log in again a little before the token expires, not after a 401

export class LoginError extends Error {}

function base64url(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier) {
  const data = new TextEncoder().encode(verifier);
  const digest = globalThis.crypto?.subtle
    ? new Uint8Array(await crypto.subtle.digest("SHA-256", data))
    : sha256(data); // plain-http intranet: no crypto.subtle there
  return base64url(digest);
}

/** The token's payload (claims), or null when it is not a JWT. */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(part + "=".repeat((4 - (part.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}

/** The stored access token if it is still valid (by its exp, else by expires_in), else null. */
export function currentToken() {
  let stored;
  try {
    stored = JSON.parse(sessionStorage.getItem(TOKEN) || "null");
  } catch {
    stored = null;
  }
  if (!stored?.access_token) return null;
  const exp = claims(stored.access_token)?.exp;
  const expiresAt = typeof exp === "number" ? exp * 1000 : stored.expires_at;
  if (expiresAt && expiresAt - SKEW_MS <= Date.now()) return null;
  return stored.access_token;
}

/** Who is logged in, for the header. */
export function user() {
  const token = currentToken();
  const c = (token && claims(token)) || {};
  return { name: c.preferred_username || c.name || c.sub || "", role: c.lianban_role || "" };
}

async function discover(issuer) {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let response;
  try {
    response = await fetch(url);
  } catch {
    throw new LoginError(`无法连接登录服务 (${issuer} unreachable)`);
  }
  if (!response.ok) throw new LoginError(`登录服务配置读取失败 (discovery: HTTP ${response.status})`);
  return response.json();
}

/** A loop (the server refusing every new token) must stop at an error, not redirect forever. */
function countAttempt() {
  const now = Date.now();
  let recent = [];
  try {
    recent = JSON.parse(sessionStorage.getItem(ATTEMPTS) || "[]").filter((t) => now - t < 60_000);
  } catch {
    recent = [];
  }
  if (recent.length >= 3) {
    throw new LoginError("一分钟内已多次登录仍未获授权，请检查账号权限后重新登录 (login loop stopped)");
  }
  recent.push(now);
  sessionStorage.setItem(ATTEMPTS, JSON.stringify(recent));
}

export function resetAttempts() {
  sessionStorage.removeItem(ATTEMPTS);
}

/** Go to the provider's login page; resolves never (the page leaves). `hash`: where to come back. */
export async function login(config, hash = location.hash) {
  countAttempt();
  const provider = await discover(config.issuer);
  const verifier = randomString(32);
  const state = randomString(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier, hash }));
  const url = new URL(provider.authorization_endpoint);
  const query = {
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: BASE.href,
    scope: config.scope || "openid",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  };
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  location.assign(url.href);
  return new Promise(() => {});
}

/** A 401 from the API: the token is no good any more. */
export function relogin(config) {
  sessionStorage.removeItem(TOKEN);
  return login(config);
}

/**
 * Back from the provider (`?code=…&state=…` or `?error=…`): exchange the code, keep the token and
 * go back to the page the user wanted. Returns false when the URL is not a login answer.
 */
export async function completeLogin(config) {
  const query = new URLSearchParams(location.search);
  if (!query.has("code") && !query.has("error")) return false;
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  } catch {
    pending = null;
  }
  sessionStorage.removeItem(PENDING);
  // The code is single-use: take it out of the address bar whatever happens next.
  history.replaceState(null, "", BASE.pathname + (pending?.hash || location.hash || ""));
  if (query.has("error")) {
    throw new LoginError(`登录未完成：${query.get("error_description") || query.get("error")}`);
  }
  if (!pending || query.get("state") !== pending.state) {
    throw new LoginError("登录校验失败，请重新登录 (state mismatch)");
  }
  const provider = await discover(config.issuer);
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code: query.get("code"),
    redirect_uri: BASE.href,
    client_id: config.client_id,
    code_verifier: pending.verifier,
  });
  let response;
  try {
    response = await fetch(provider.token_endpoint, { method: "POST", body: form });
  } catch {
    throw new LoginError("无法连接登录服务 (token endpoint unreachable)");
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    const why = answer.error_description || answer.error || `HTTP ${response.status}`;
    throw new LoginError(`登录失败：${why}`);
  }
  const expiresAt = answer.expires_in ? Date.now() + answer.expires_in * 1000 : null;
  sessionStorage.setItem(TOKEN, JSON.stringify({ access_token: answer.access_token, expires_at: expiresAt }));
  return true;
}

/** 退出: forget everything of this tab and start again. */
export function logout() {
  sessionStorage.clear();
  location.reload();
}
