// The console's start: read config.json, finish or start the login, then route by the hash.
// Each page's mount() returns a function that stops its timers, streams and charts on leaving.

import { setConfig } from "./api.js";
import { LoginError, completeLogin, currentToken, login, logout, resetAttempts, user } from "./auth.js";
import { loadConfig } from "./config.js";
import { fill, h } from "./dom.js";
import { ROLE_TEXT } from "./labels.js";
import * as caseView from "./pages/case.js";
import * as complaints from "./pages/complaints.js";
import * as deadLetters from "./pages/dead_letters.js";
import * as departments from "./pages/departments.js";
import * as live from "./pages/live.js";
import * as overview from "./pages/overview.js";
import * as savings from "./pages/savings.js";

const ROUTES = [
  { page: "live", pattern: /^\/live\/?$/, view: live, title: "实时监控" },
  { page: "overview", pattern: /^\/overview\/?$/, view: overview, title: "总览" },
  { page: "cases", pattern: /^\/cases(?:\/(.*))?$/, view: caseView, title: "一案一图" },
  { page: "savings", pattern: /^\/savings\/?$/, view: savings, title: "并联成效" },
  { page: "departments", pattern: /^\/departments\/?$/, view: departments, title: "部门与通道" },
  { page: "dead-letters", pattern: /^\/dead-letters\/?$/, view: deadLetters, title: "死信处理" },
  { page: "complaints", pattern: /^\/complaints\/?$/, view: complaints, title: "投诉处理" },
];
const DEFAULT = "#/live";
const TITLE = "联办 · 电子监察控制台";

const root = document.getElementById("page");
let leave = null;

function route(context) {
  leave?.();
  leave = null;
  const path = location.hash.replace(/^#/, "");
  let match = null;
  const found = ROUTES.find((r) => (match = r.pattern.exec(path)));
  if (!found) {
    history.replaceState(null, "", DEFAULT);
    return route(context);
  }
  let id = match[1] || "";
  try {
    id = decodeURIComponent(id);
  } catch {
    // a malformed escape: use the text as typed
  }
  for (const link of document.querySelectorAll("#nav a[data-page]")) {
    const current = link.dataset.page === found.page;
    link.classList.toggle("active", current);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${found.title} · ${TITLE}`;
  root.dataset.page = found.page;
  window.scrollTo(0, 0);
  leave = found.view.mount(root, { ...context, params: { id } }) || null;
}

/** Login could not finish: say why, offer to try again. */
function fatal(error, config) {
  const retry = config
    ? h("button", { type: "button", id: "login-again", onclick: () => {
      resetAttempts();
      login(config, "").catch((e) => fatal(e, config));
    } }, "重新登录")
    : null;
  fill(root, h("div", { class: "error", role: "alert" }, error.message || String(error)), retry);
}

function showUser(who) {
  document.getElementById("user-name").textContent = who.name || "—";
  const role = document.getElementById("user-role");
  role.textContent = ROLE_TEXT[who.role] || who.role || "未知角色";
  role.dataset.role = who.role;
  document.getElementById("logout").addEventListener("click", logout);
}

async function boot() {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    return fatal(error);
  }
  setConfig(config);
  try {
    await completeLogin(config);
    if (!currentToken()) return await login(config);
  } catch (error) {
    if (!(error instanceof LoginError)) console.error(error);
    return fatal(error, config);
  }
  const who = user();
  showUser(who);
  document.body.classList.add("ready");
  const context = { config, user: who };
  window.addEventListener("hashchange", () => route(context));
  route(context);
}

boot();
