// 实时监控: the case events as they happen, newest on top, read from the server-sent stream.

import { query } from "../api.js";
import { caseLink, clearError, errorBox, fill, h, section, showError } from "../dom.js";
import { DASH, clock } from "../format.js";
import { CASE_STATE_TEXT } from "../labels.js";
import { subscribe } from "../sse.js";

const MAX_ROWS = 300;
const STALE_SECONDS = 5;

export function mount(root, { config }) {
  const error = errorBox();
  const department = h("select", { id: "filter-department", name: "department" }, h("option", { value: "" }, "全部部门"),
    Object.entries(config.departments).map(([code, name]) => h("option", { value: code }, name)));
  const matter = h("input", { id: "filter-matter", name: "matter", type: "search", placeholder: "事项编码", autocomplete: "off" });
  const state = h("select", { id: "filter-state", name: "state" }, h("option", { value: "" }, "全部状态"),
    Object.entries(CASE_STATE_TEXT).map(([code, text]) => h("option", { value: code }, text)));
  const freshness = h("span", { id: "freshness", class: "freshness stale" }, "数据时效 — 秒");
  const counter = h("span", { id: "event-count" }, "0");
  const status = h("span", { id: "stream-status", class: "stream-status" }, "连接中…");
  const body = h("tbody", { id: "live-entries" });

  fill(
    root,
    error,
    h("div", { class: "page-title" }, h("h1", {}, "实时监控"),
      h("div", { class: "live-meta" }, freshness, h("span", {}, "已接收 ", counter, " 条"), status)),
    section(
      "办件事件",
      h("form", { class: "filters", onsubmit: (e) => e.preventDefault() },
        h("label", {}, "部门 ", department), h("label", {}, "事项 ", matter), h("label", {}, "状态 ", state)),
      h("table", { id: "live", class: "data" },
        h("thead", {}, h("tr", {}, ["时间", "事件", "办件", "部门", "事项", "状态"].map((t) => h("th", { scope: "col" }, t)))),
        body),
    ),
  );

  let lastId = null;
  let received = 0;
  let checkedAt = null;
  let stop = null;

  function showFreshness() {
    if (!checkedAt) return;
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(checkedAt)) / 1000));
    freshness.textContent = `数据时效 ${seconds} 秒`;
    freshness.dataset.seconds = String(seconds);
    freshness.classList.toggle("stale", seconds > STALE_SECONDS);
  }

  function row(entry) {
    return h("tr", { class: "live-entry", dataset: { caseId: entry.case_id, eventId: entry.id } },
      h("td", {}, h("time", { dateTime: entry.occurred_at }, clock(entry.occurred_at))),
      h("td", { title: entry.event_type }, entry.event_text || entry.event_type),
      h("td", {}, caseLink(entry.case_id)),
      h("td", {}, entry.department_name || DASH),
      h("td", {}, entry.matter_code || DASH),
      h("td", { class: `state-${entry.state}` }, entry.state_text || CASE_STATE_TEXT[entry.state] || entry.state || DASH));
  }

  function add(entry) {
    if (body.querySelector(`tr[data-event-id="${CSS.escape(String(entry.id))}"]`)) return;
    const tr = row(entry);
    // Ids grow: place by id, whichever order the server sends its first 50 in.
    let before = body.firstElementChild;
    while (before && Number(before.dataset.eventId) > entry.id) before = before.nextElementSibling;
    body.insertBefore(tr, before);
    while (body.childElementCount > MAX_ROWS) body.lastElementChild.remove();
  }

  function onMessage(event, data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return; // a malformed message must not stop the screen
    }
    if (event === "entry") {
      received += 1;
      counter.textContent = String(received);
      if (lastId === null || message.id > lastId) lastId = message.id;
      add(message);
    } else if (event === "heartbeat") {
      checkedAt = message.checked_at;
      showFreshness();
    }
  }

  function start() {
    stop?.();
    lastId = null;
    checkedAt = null;
    received = 0;
    counter.textContent = "0";
    freshness.textContent = "数据时效 — 秒";
    freshness.classList.add("stale");
    body.replaceChildren();
    status.textContent = "连接中…";
    const filters = { department: department.value, matter: matter.value.trim(), state: state.value };
    stop = subscribe(() => `live${query({ ...filters, after: lastId ?? "" })}`, {
      onOpen() {
        clearError(error);
        status.textContent = "已连接";
        status.classList.remove("down");
      },
      onMessage,
      onError(reason, retryMs) {
        status.textContent = `连接中断，${Math.ceil(retryMs / 1000)} 秒内重连`;
        status.classList.add("down");
        showError(error, new Error(`实时数据：${reason.message}`));
      },
    });
  }

  let typing = null;
  department.addEventListener("change", start);
  state.addEventListener("change", start);
  matter.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(start, 500);
  });
  const ticker = setInterval(showFreshness, 1000);
  start();

  return () => {
    stop?.();
    clearTimeout(typing);
    clearInterval(ticker);
  };
}
