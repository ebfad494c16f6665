// 部门与通道: each department's open work and how its bridge stands, refreshed every 5 s.
// A row turns red when the server says `alarm` (work untaken too long, 送达异常, or a silent bridge).

import { api } from "../api.js";
import { clearError, errorBox, fill, h, section, showError, table } from "../dom.js";
import { DASH, age, dateTime, number } from "../format.js";
import { BRIDGE_TEXT } from "../labels.js";
import { poll } from "../poll.js";

const HEAD = ["部门", "通道", "在办", "超期", "未回告通知", "待回应催办", "投诉", "待签收", "最早未签收", "消费积压", "通道状态", "最后联系", "通道详情"];

export function mount(root) {
  const error = errorBox();
  const updated = h("span", { class: "generated" });
  const box = h("div", { class: "table-wrap" });
  fill(root, error, h("div", { class: "page-title" }, h("h1", {}, "部门与通道"), updated), section("各部门", box));

  const stop = poll(5_000, async () => {
    try {
      const rows = await api("departments");
      fill(box, table({ id: "departments", class: "data" }, HEAD, rows.map(row)));
      updated.textContent = `更新于 ${dateTime(new Date())}`;
      clearError(error);
    } catch (e) {
      showError(error, e);
    }
  });
  return stop;
}

function row(d) {
  const count = (value, alarm) => h("td", { class: alarm && value ? "alarm-text num" : "num" }, number(value));
  return h("tr", { class: d.alarm ? "department-row alarm" : "department-row", dataset: { department: d.department, alarm: String(!!d.alarm) } },
    h("td", {}, d.department_name || d.department),
    h("td", { dataset: { bridge: d.bridge } }, BRIDGE_TEXT[d.bridge] || d.bridge || DASH),
    count(d.open_parts),
    count(d.overdue_parts, true),
    count(d.unacknowledged_notices, true),
    count(d.urges_waiting, true),
    count(d.complaints_open, true),
    count(d.waiting_work),
    h("td", { dataset: { seconds: d.oldest_untaken_seconds ?? "" }, title: d.oldest_untaken_since ? `自 ${dateTime(d.oldest_untaken_since)}` : "" },
      age(d.oldest_untaken_seconds)),
    h("td", { class: "num" }, number(d.consumer_lag)),
    h("td", { class: d.bridge_status && d.bridge_status !== "正常" ? "alarm-text" : "", title: d.bridge_detail ? JSON.stringify(d.bridge_detail) : "" },
      d.bridge_status || DASH),
    h("td", {}, d.last_contact_at ? h("time", { dateTime: d.last_contact_at }, dateTime(d.last_contact_at)) : DASH),
    h("td", { class: "bridge-detail", title: d.bridge_detail ? JSON.stringify(d.bridge_detail) : "" }, bridgeDetail(d.bridge, d.bridge_detail || {})));
}

/** What each kind of bridge reports, in a line: the ferry's last bundles and gaps, the database's last poll,
 * whether the department's own Kafka answers. */
function bridgeDetail(bridge, x) {
  const at = (t) => (t ? dateTime(t) : DASH);
  if (bridge === "ferry") {
    const parts = [`收 #${x.last_bundle_in?.seq ?? DASH} ${at(x.last_bundle_in?.applied_at)}`, `发 #${x.last_bundle_out?.seq ?? DASH} ${at(x.last_bundle_out?.at)}`];
    if (x.missing?.length) parts.push(`缺 #${x.missing.join("、#")}`);
    if (x.refused?.count) parts.push(`拒收 ${x.refused.count}`);
    return parts.join("；");
  }
  if (bridge === "database") return `最近轮询 ${at(x.last_poll_at)}；已读结果 ${number(x.results_read)}`;
  if (bridge === "kafka") return x.reachable === false ? "部门集群不可达" : `部门集群可达；积压 ${number(x.lag)}`;
  if (bridge === "http") return x.url || DASH;
  return DASH;
}
