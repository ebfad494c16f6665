// 并联成效: what joint handling saved. 串联用时 is the sum of each part's own working days, what
// serial approval would have taken; 并联用时 the case's own working days (server's figures).

import { api } from "../api.js";
import { chart } from "../charts.js";
import { caseLink, clearError, errorBox, fill, h, section, showError, table } from "../dom.js";
import { DASH, number, timeEl } from "../format.js";
import { poll } from "../poll.js";

const TOTALS = [
  ["cases", "办结件数", "件"],
  ["joint_days", "并联用时", "工作日"],
  ["serial_days", "串联用时", "工作日"],
  ["saved_days", "节省工作日", "工作日"],
];
const JOINT = "#1e6fd9";
const SERIAL = "#9e9e9e";
const SAVED = "#2e7d32";

export function mount(root) {
  const error = errorBox();
  const totals = Object.fromEntries(TOTALS.map(([k]) => [k, h("span", { dataset: { savings: k } }, DASH)]));
  const matterBox = h("div", { class: "chart", id: "chart-savings-matter" });
  const monthBox = h("div", { class: "chart", id: "chart-savings-month" });
  const matterData = h("div", { class: "chart-data", dataset: { chart: "by-matter" } });
  const monthData = h("div", { class: "chart-data", dataset: { chart: "by-month" } });
  const latest = h("div", { class: "table-wrap" });

  fill(
    root,
    error,
    h("div", { class: "page-title" }, h("h1", {}, "并联成效"), h("span", { class: "generated" }, "仅统计已办结办件；串联用时为各部门各自用时之和")),
    h("div", { class: "tiles" },
      TOTALS.map(([k, label, unit]) => h("div", { class: `tile tile-${k}` }, h("div", { class: "tile-label" }, label), totals[k], h("span", { class: "unit" }, unit)))),
    h("div", { class: "grid-2" },
      section("按事项", matterBox, matterData),
      section("按月", monthBox, monthData)),
    section("最近办结", latest),
  );

  const byMatter = chart(matterBox);
  const byMonth = chart(monthBox);

  function render(s) {
    for (const [k, el] of Object.entries(totals)) el.textContent = number(s[k]);
    const matters = s.by_matter || [];
    byMatter.set({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: matters.map((m) => m.matter_code), axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", name: "工作日", minInterval: 1 },
      series: [
        { name: "并联用时", type: "bar", barMaxWidth: 36, itemStyle: { color: JOINT }, data: matters.map((m) => m.joint_days) },
        { name: "串联用时", type: "bar", barMaxWidth: 36, itemStyle: { color: SERIAL }, data: matters.map((m) => m.serial_days) },
        { name: "节省工作日", type: "bar", barMaxWidth: 36, itemStyle: { color: SAVED }, data: matters.map((m) => m.saved_days) },
      ],
    });
    fill(matterData, table({ class: "compact" }, ["事项", "件数", "并联用时", "串联用时", "节省"],
      matters.map((m) => h("tr", { dataset: { matter: m.matter_code } }, h("th", { scope: "row" }, m.matter_code),
        [m.cases, m.joint_days, m.serial_days, m.saved_days].map((v) => h("td", {}, number(v)))))));

    const months = s.by_month || [];
    byMonth.set({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: months.map((m) => m.month) },
      yAxis: { type: "value", name: "工作日", minInterval: 1 },
      series: [
        { name: "并联用时", type: "line", symbolSize: 7, itemStyle: { color: JOINT }, data: months.map((m) => m.joint_days) },
        { name: "串联用时", type: "line", symbolSize: 7, itemStyle: { color: SERIAL }, lineStyle: { type: "dashed" }, data: months.map((m) => m.serial_days) },
      ],
    });
    fill(monthData, table({ class: "compact" }, ["月份", "件数", "并联用时", "串联用时", "节省"],
      months.map((m) => h("tr", { dataset: { month: m.month } }, h("th", { scope: "row" }, m.month),
        [m.cases, m.joint_days, m.serial_days, m.saved_days].map((v) => h("td", {}, number(v)))))));

    fill(latest, table({ id: "savings-latest", class: "data" }, ["办件", "事项", "办结时间", "并联用时", "串联用时", "节省"],
      (s.latest || []).map((c) => h("tr", { class: "savings-case", dataset: { caseId: c.case_id } },
        h("td", {}, caseLink(c.case_id)),
        h("td", {}, c.matter_code || DASH),
        h("td", {}, timeEl(c.concluded_at)),
        h("td", {}, number(c.joint_days)),
        h("td", {}, number(c.serial_days)),
        h("td", {}, number(c.serial_days - c.joint_days))))));
  }

  const stop = poll(30_000, async () => {
    try {
      render(await api("savings"));
      clearError(error);
    } catch (e) {
      showError(error, e);
    }
  });

  return () => {
    stop();
    byMatter.dispose();
    byMonth.dispose();
  };
}
