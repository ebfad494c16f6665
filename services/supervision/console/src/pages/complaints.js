// 投诉处理: complaints about a case or a department, each with a due date. Staff file one with
// the form; supervisors and administrators close one with its resolution (the server checks roles).

import { api, query } from "../api.js";
import { caseLink, clearError, errorBox, fill, h, section, showError, table, newestOnly, sayer } from "../dom.js";
import { DASH, dateTime, timeEl } from "../format.js";
import { ACTING_ONLY, ACTING_ROLES, FILED_VIA_TEXT } from "../labels.js";

const STATUS = [
  ["open", "待处理"],
  ["resolved", "已办结"],
  ["all", "全部"],
];

export function mount(root, { config, user }) {
  const error = errorBox();
  const may = ACTING_ROLES.has(user.role);
  const status = h("select", { id: "complaint-status", name: "status" }, STATUS.map(([v, t]) => h("option", { value: v }, t)));
  const box = h("div", { class: "table-wrap" });
  const message = h("div", { id: "complaint-message", class: "message", role: "status", "aria-live": "polite", hidden: true });

  const caseInput = h("input", { id: "complaint-case", name: "case_id", required: true, placeholder: "办件编号", autocomplete: "off" });
  const department = h("select", { id: "complaint-department", name: "department" }, h("option", { value: "" }, "不限"),
    Object.entries(config.departments).map(([code, name]) => h("option", { value: code }, name)));
  const content = h("textarea", { id: "complaint-content", name: "content", required: true, rows: 3, maxlength: 2000, placeholder: "投诉内容" });
  const form = h("form", { id: "complaint-form", class: "form" },
    h("label", {}, "办件编号", caseInput),
    h("label", {}, "部门", department),
    h("label", { class: "wide" }, "内容", content),
    h("div", { class: "form-actions" }, h("button", { type: "submit" }, "登记投诉")));

  fill(root, error, h("div", { class: "page-title" }, h("h1", {}, "投诉处理")),
    section("投诉", h("div", { class: "filters" }, h("label", {}, "状态 ", status)), message, box),
    section("登记投诉", form));

  const say = sayer(message);
  const start = newestOnly();
  async function load() {
    const newest = start();
    try {
      const rows = await api(`complaints${query({ status: status.value })}`);
      if (!newest()) return;
      fill(box, table({ id: "complaints", class: "data" }, ["办件", "部门", "内容", "登记人", "登记方式", "登记时间", "期限", "超期", "处理结果"],
        rows.map(row)));
      clearError(error);
    } catch (e) {
      showError(error, e);
    }
  }

  function row(c) {
    const open = !c.resolved_at;
    return h("tr", { class: `complaint${c.overdue ? " overdue" : ""}`, dataset: { id: c.complaint_id, status: open ? "open" : "resolved", overdue: String(!!c.overdue) } },
      h("td", {}, caseLink(c.case_id)),
      h("td", {}, c.department_name || (c.department ? config.departments[c.department] || c.department : "不限")),
      h("td", { class: "content" }, c.content),
      h("td", {}, c.filed_by || DASH),
      h("td", {}, FILED_VIA_TEXT[c.filed_via] || c.filed_via || DASH),
      h("td", { class: "nowrap" }, timeEl(c.filed_at)),
      h("td", { class: "nowrap" }, timeEl(c.due_at)),
      h("td", { class: c.overdue ? "alarm-text" : "" }, c.overdue ? "超期" : DASH),
      h("td", { class: "resolution" }, open ? resolveForm(c) : [
        c.resolution || "",
        h("div", { class: "sub" }, `${c.resolved_by || ""} ${dateTime(c.resolved_at)}`),
      ]));
  }

  function resolveForm(c) {
    const text = h("input", { class: "resolution-input", name: "resolution", placeholder: "处理结果", disabled: !may, "aria-label": "处理结果" });
    const button = h("button", { type: "submit", class: "resolve", disabled: !may, title: may ? "办结此投诉" : ACTING_ONLY }, "办结");
    return h("form", { class: "resolve-form", onsubmit: async (e) => {
      e.preventDefault();
      const resolution = text.value.trim();
      if (!resolution) return say("办结投诉须填写处理结果。", true);
      button.disabled = true;
      try {
        await api(`complaints/${encodeURIComponent(c.complaint_id)}/resolution`, { method: "POST", body: { resolution } });
        say(`投诉已办结（办件 ${c.case_id}）。`);
        await load();
      } catch (err) {
        say(err.message, true);
        button.disabled = !may;
      }
    } }, text, button);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { case_id: caseInput.value.trim(), department: department.value || null, content: content.value.trim() };
    if (!body.case_id || !body.content) return say("请填写办件编号和投诉内容。", true);
    try {
      const filed = await api("complaints", { method: "POST", body });
      say(`已登记投诉（办件 ${filed.case_id}），处理期限 ${dateTime(filed.due_at)}。`);
      form.reset();
      await load();
    } catch (err) {
      say(err.message, true);
    }
  });
  status.addEventListener("change", () => {
    say("");
    load();
  });
  load();
  return () => {};
}
