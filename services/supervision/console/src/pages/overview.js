// 总览: where all cases and parts stand, refreshed every 10 s. Each chart has its numbers in a
// compact table beneath it, so screen readers and tests read what the canvas shows.

import { api } from "../api.js";
import { chart } from "../charts.js";
import { clearError, errorBox, fill, h, section, showError, table } from "../dom.js";
import { DASH, dateTime, number, percent } from "../format.js";
import { ALERT_TEXT, CASE_STATE_TEXT, CLOCK_COLOR, CLOCK_STATES, EVALUATION_TEXT } from "../labels.js";
import { poll } from "../poll.js";

const TODAY = ["reminder", "yellow_card", "red_card", "urge"];
const EVAL_COLOR = { 5: "#2e7d32", 4: "#7cb342", 3: "#fbc02d", 2: "#fb8c00", 1: "#d32f2f" };

const rateValue = (rate) => (rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10);

export function mount(root) {
  const error = errorBox();
  const generated = h("span", { class: "generated" });
  const counts = Object.fromEntries(Object.keys(CASE_STATE_TEXT).map((k) => [k, h("span", { dataset: { count: k } }, DASH)]));
  const today = Object.fromEntries(TODAY.map((k) => [k, h("span", { dataset: { today: k } }, DASH)]));
  const boxes = {};
  const data = {};
  for (const name of ["parts", "heatmap", "monthly", "evaluations"]) {
    boxes[name] = h("div", { class: `chart chart-${name}`, id: `chart-${name}` });
    data[name] = h("div", { class: "chart-data", dataset: { chart: name } });
  }
  const ranking = h("div", { class: "table-wrap" });

  fill(
    root,
    error,
    h("div", { class: "page-title" }, h("h1", {}, "总览"), generated),
    h("div", { class: "tiles" },
      Object.entries(CASE_STATE_TEXT).map(([k, text]) => h("div", { class: `tile tile-${k}` }, h("div", { class: "tile-label" }, text), counts[k]))),
    h("div", { class: "grid-2" },
      section("各部门办件状态", boxes.parts, data.parts),
      section("超期分布（超期工作日）", boxes.heatmap, data.heatmap)),
    section("今日监察",
      h("div", { class: "tiles small" },
        TODAY.map((k) => h("div", { class: `tile tile-${k}` }, h("div", { class: "tile-label" }, ALERT_TEXT[k]), today[k])))),
    h("div", { class: "grid-2" },
      section("按月办结率与按时办结率", boxes.monthly, data.monthly),
      section("好差评", boxes.evaluations, data.evaluations)),
    section("部门排名", ranking),
  );

  const charts = Object.fromEntries(Object.entries(boxes).map(([k, el]) => [k, chart(el)]));

  function render(o) {
    generated.textContent = `数据生成于 ${dateTime(o.generated_at)}`;
    for (const [k, el] of Object.entries(counts)) el.textContent = String(o.cases_by_state?.[k] ?? 0);
    for (const [k, el] of Object.entries(today)) el.textContent = String(o.today?.[k] ?? 0);
    renderParts(charts.parts, data.parts, o.parts_by_department || []);
    renderHeatmap(charts.heatmap, data.heatmap, o.overdue_heatmap);
    renderMonthly(charts.monthly, data.monthly, o.monthly || []);
    renderEvaluations(charts.evaluations, data.evaluations, o.evaluations || {});
    fill(ranking, rankingTable(o.ranking || []));
  }

  const stop = poll(10_000, async () => {
    try {
      render(await api("overview"));
      clearError(error);
    } catch (e) {
      showError(error, e);
    }
  });

  return () => {
    stop();
    for (const c of Object.values(charts)) c.dispose();
  };
}

function renderParts(c, box, rows) {
  const names = rows.map((r) => r.department_name || r.department);
  c.set({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: names, axisLabel: { interval: 0, hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1, name: "事项数" },
    series: CLOCK_STATES.map(([state, text]) => ({
      name: text,
      type: "bar",
      stack: "parts",
      barMaxWidth: 48,
      itemStyle: { color: CLOCK_COLOR[state] },
      data: rows.map((r) => r.states?.[state] ?? 0),
    })),
  });
  fill(box, table({ class: "compact" }, ["部门", ...CLOCK_STATES.map(([, t]) => t)],
    rows.map((r, i) => h("tr", { dataset: { department: r.department } }, h("th", { scope: "row" }, names[i]),
      CLOCK_STATES.map(([state]) => h("td", { dataset: { state } }, String(r.states?.[state] ?? 0)))))));
}

function renderHeatmap(c, box, heat) {
  const departments = heat?.department_names?.length ? heat.department_names : heat?.departments || [];
  const buckets = heat?.buckets || [];
  const cells = heat?.cells || [];
  const max = Math.max(1, ...cells.map((cell) => cell[2]));
  c.set({
    tooltip: {
      formatter: (p) => `${departments[p.value[1]]}<br>超期 ${buckets[p.value[0]]} 个工作日：${p.value[2]} 项`,
    },
    grid: { left: 8, right: 16, top: 16, bottom: 64, containLabel: true },
    xAxis: { type: "category", data: buckets.map((b) => `${b}天`), name: "超期工作日", nameLocation: "middle", nameGap: 28, splitArea: { show: true } },
    yAxis: { type: "category", data: departments, inverse: true, splitArea: { show: true } }, // rows as in the table
    visualMap: {
      min: 0, max, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, text: ["多", "少"],
      inRange: { color: ["#fff5f0", "#fcae91", "#de2d26", "#a50f15"] },
    },
    series: [{
      name: "超期事项",
      type: "heatmap",
      data: cells.map(([d, b, n]) => [b, d, n]),
      label: { show: true },
      emphasis: { itemStyle: { borderColor: "#333", borderWidth: 1 } },
    }],
  });
  const value = (d, b) => cells.find((cell) => cell[0] === d && cell[1] === b)?.[2] ?? 0;
  fill(box, table({ class: "compact" }, ["部门", ...buckets.map((b) => `${b}天`)],
    departments.map((name, d) => h("tr", { dataset: { department: heat.departments?.[d] } }, h("th", { scope: "row" }, name),
      buckets.map((bucket, b) => h("td", { dataset: { bucket } }, String(value(d, b))))))));
}

function renderMonthly(c, box, months) {
  c.set({
    tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? DASH : `${v}%`) },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: months.map((m) => m.month) },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [
      { name: "办结率", type: "bar", barMaxWidth: 36, itemStyle: { color: "#5b8fd6" }, data: months.map((m) => rateValue(m.completion_rate)) },
      { name: "按时办结率", type: "line", connectNulls: false, itemStyle: { color: "#2e7d32" }, data: months.map((m) => rateValue(m.on_time_rate)) },
    ],
  });
  fill(box, table({ class: "compact" }, ["月份", "受理", "办结", "办结率", "按时办结率"],
    months.map((m) => h("tr", { dataset: { month: m.month } }, h("th", { scope: "row" }, m.month),
      h("td", {}, number(m.received)), h("td", {}, number(m.completed)),
      h("td", { dataset: { value: m.completion_rate ?? "" } }, percent(m.completion_rate)),
      h("td", { dataset: { value: m.on_time_rate ?? "" } }, percent(m.on_time_rate))))));
}

function renderEvaluations(c, box, evaluations) {
  const scores = [5, 4, 3, 2, 1];
  const none = scores.every((s) => !evaluations[s]);
  c.set({
    title: none ? { text: "暂无评价", left: "62%", top: "middle", textAlign: "center", textStyle: { color: "#999", fontSize: 14 } } : undefined,
    tooltip: { trigger: "item", formatter: "{b}：{c} 件（{d}%）" },
    legend: { orient: "vertical", left: 0, top: "middle" },
    series: [{
      name: "好差评",
      type: "pie",
      radius: ["35%", "68%"],
      stillShowZeroSum: false, // no evaluations yet: an empty ring, not five equal slices
      center: ["62%", "50%"],
      label: { show: !none, formatter: "{b} {c}" },
      data: scores.map((s) => ({ name: EVALUATION_TEXT[s], value: evaluations[s] ?? 0, itemStyle: { color: EVAL_COLOR[s] } })),
    }],
  });
  fill(box, table({ class: "compact" }, scores.map((s) => EVALUATION_TEXT[s]),
    [h("tr", {}, scores.map((s) => h("td", { dataset: { score: s } }, String(evaluations[s] ?? 0))))]));
}

function rankingTable(rows) {
  return table({ id: "ranking", class: "data" }, ["排名", "部门", "按时办结率", "超期", "平均用时(工作日)", "投诉"],
    rows.map((r) => h("tr", { dataset: { department: r.department } },
      h("td", {}, String(r.rank)),
      h("td", {}, r.department_name || r.department),
      h("td", { dataset: { value: r.on_time_rate ?? "" } }, percent(r.on_time_rate)),
      h("td", { class: r.overdue_parts ? "alarm-text" : "" }, number(r.overdue_parts)),
      h("td", {}, number(r.mean_working_days, 1)),
      h("td", {}, number(r.complaints)))));
}
