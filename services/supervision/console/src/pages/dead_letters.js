// 死信处理: messages no consumer could handle. Supervisors and administrators redrive them (after
// the cause is fixed) or discard them with a reason; others see the buttons disabled. The server
// decides in the end: its answer, refusals included, is shown as it gave it.

import { api, query } from "../api.js";
import { departmentName } from "../config.js";
import { caseLink, clearError, errorBox, fill, h, section, showError, table, newestOnly, sayer } from "../dom.js";
import { DASH, dateTime, timeEl } from "../format.js";
import { ACTING_ONLY, ACTING_ROLES } from "../labels.js";

const STATUS = [
  ["open", "待处理"],
  ["redriven", "已重投"],
  ["discarded", "已丢弃"],
  ["all", "全部"],
];

export function mount(root, { config, user }) {
  const error = errorBox();
  const may = ACTING_ROLES.has(user.role);
  const status = h("select", { id: "dead-letter-status", name: "status" }, STATUS.map(([v, t]) => h("option", { value: v }, t)));
  const reason = h("input", { id: "act-reason", name: "reason", type: "text", placeholder: "处理说明（丢弃时必填）", maxlength: 500, disabled: !may });
  const redrive = h("button", { id: "redrive", type: "button", disabled: !may, title: may ? "重新投递勾选的死信" : ACTING_ONLY }, "重新投递");
  const discard = h("button", { id: "discard", type: "button", class: "danger", disabled: !may, title: may ? "丢弃勾选的死信" : ACTING_ONLY }, "丢弃");
  const message = h("div", { id: "dead-letter-message", class: "message", role: "status", "aria-live": "polite", hidden: true });
  const selectAll = h("input", { type: "checkbox", id: "select-all", title: "全选" });
  const box = h("div", { class: "table-wrap" });
  const refresh = h("button", { type: "button", id: "dead-letter-refresh" }, "刷新");

  fill(root, error, h("div", { class: "page-title" }, h("h1", {}, "死信处理")),
    section("死信",
      h("div", { class: "filters" }, h("label", {}, "状态 ", status), refresh),
      h("div", { class: "actions" }, reason, redrive, discard),
      message,
      box));

  const checked = () => [...box.querySelectorAll("tr.dead-letter input.select:checked")].map((i) => i.closest("tr").dataset.id);

  const say = sayer(message);
  const start = newestOnly();
  async function load() {
    const newest = start();
    try {
      const rows = await api(`dead-letters${query({ status: status.value, limit: 200 })}`);
      if (!newest()) return;
      selectAll.checked = false;
      fill(box, table({ id: "dead-letters", class: "data" },
        [selectAll, "时间", "消费者", "原因", "主题", "分区", "偏移", "办件", "状态", "处理人", "处理时间", "说明"],
        rows.map((d) => row(config, d))));
      clearError(error);
    } catch (e) {
      showError(error, e);
    }
  }

  async function act(kind) {
    const ids = checked();
    if (!ids.length) return say("请先勾选要处理的死信。", true);
    const why = reason.value.trim();
    if (kind === "discard" && !why) {
      reason.focus();
      return say("丢弃死信须填写处理说明。", true);
    }
    redrive.disabled = discard.disabled = true;
    try {
      const answer = await api(`dead-letters/${kind}`, { method: "POST", body: { ids, reason: why } });
      const done = (kind === "redrive" ? answer.redriven : answer.discarded) || [];
      const refused = answer.refused || [];
      const lines = [`${kind === "redrive" ? "已重新投递" : "已丢弃"} ${done.length} 条。`];
      if (refused.length) lines.push(`未处理 ${refused.length} 条：`, ...refused.map((r) => `${r.id}：${r.reason}`));
      say(lines.join("\n"), refused.length > 0);
      if (done.length) reason.value = "";
      await load();
    } catch (e) {
      say(e.message, true); // a 403 shows the server's own detail here
    } finally {
      redrive.disabled = discard.disabled = !may;
    }
  }

  selectAll.addEventListener("change", () => {
    for (const box_ of box.querySelectorAll("tr.dead-letter input.select")) box_.checked = selectAll.checked;
  });
  status.addEventListener("change", () => {
    say("");
    load();
  });
  refresh.addEventListener("click", load);
  redrive.addEventListener("click", () => act("redrive"));
  discard.addEventListener("click", () => act("discard"));
  load();
  return () => {};
}

function row(config, d) {
  return h("tr", { class: `dead-letter status-${d.status}`, dataset: { id: d.id, status: d.status, redrivable: String(!!d.redrivable) } },
    h("td", {}, h("input", { type: "checkbox", class: "select", value: d.id, "aria-label": `选择 ${d.id}` })),
    h("td", { class: "nowrap" }, timeEl(d.received_at)),
    h("td", {}, d.consumer || DASH),
    h("td", { class: "error-text", title: d.error || "" }, d.error || DASH),
    h("td", {}, d.topic || DASH, d.department ? h("div", { class: "sub" }, departmentName(config, d.department)) : null),
    h("td", { class: "num" }, String(d.partition ?? DASH)),
    h("td", { class: "num" }, String(d.offset ?? DASH)),
    h("td", {}, caseLink(d.case_id)),
    h("td", {}, d.status_text || d.status, d.redrivable === false && d.status === "open" ? h("div", { class: "sub" }, "不可重投") : null),
    h("td", {}, d.acted_by || DASH),
    h("td", { class: "nowrap" }, d.acted_at ? dateTime(d.acted_at) : DASH),
    h("td", {}, d.act_reason || DASH));
}
