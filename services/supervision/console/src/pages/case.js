// 一案一图: one case on one screen. A Gantt-like chart (one row per department part over the
// calendar days), the parts table with suspensions, cards and urges, the timeline, and the
// evidence export (fetched with the token, saved as a JSON file).

import { api, download } from "../api.js";
import { chart, graphic } from "../charts.js";
import { departmentName } from "../config.js";
import { caseLink, clearError, errorBox, fill, h, section, showError, table } from "../dom.js";
import { DASH, dateTime, fullTime, shortTime, timeEl } from "../format.js";
import {
  ACTION_TEXT,
  ALERT_COLOR,
  ALERT_TEXT,
  CLOCK_COLOR,
  OUTCOME_TEXT,
  PART_STATE_TEXT,
} from "../labels.js";

const DAY_MS = 86_400_000;
const WEEKDAY = ["日", "一", "二", "三", "四", "五", "六"];
const SUSPENSION_COLOR = "#f0a020";
const DEADLINE_COLOR = "#c62828";

export function mount(root, { config, params }) {
  const caseId = params.id || "";
  const error = errorBox();
  const input = h("input", { id: "case-search-id", name: "case_id", type: "search", placeholder: "输入办件编号", value: caseId, autocomplete: "off", required: true });
  const search = h("form", { id: "case-search", class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const id = input.value.trim();
    if (id) location.hash = `#/cases/${encodeURIComponent(id)}`;
  } }, h("label", {}, "办件编号 ", input), h("button", { type: "submit" }, "查看"));

  fill(root, error, h("div", { class: "page-title" }, h("h1", {}, "一案一图"), search));
  if (!caseId) {
    root.append(h("p", { class: "hint" }, "输入办件编号，或在实时监控中点击办件编号查看该案全过程。"));
    return () => {};
  }

  const head = h("div", { class: "case-head", id: "case-head" }, "正在读取…");
  const chartBox = h("div", { class: "chart chart-gantt", id: "chart-gantt" });
  const partsBox = h("div", { class: "table-wrap" });
  const timelineBox = h("div", { class: "table-wrap" });
  const exportLink = h("a", { id: "export-evidence", href: "#", class: "button", role: "button" }, "导出证据");
  root.append(
    section("办件", head),
    section("办理进度", h("p", { class: "legend-note" }, "条形颜色表示部门状态（同下表）；橙色为中止计时；灰色底纹为非工作日；红色虚线为各部门办理时限。"), chartBox),
    section("部门办理情况", partsBox),
    section("全过程记录", h("div", { class: "section-tools" }, exportLink), timelineBox),
  );

  let gantt = null;
  let c = null;
  let left = false;

  exportLink.addEventListener("click", async (event) => {
    event.preventDefault();
    const path = gantt?.evidence_url || `/api/v1/supervision/cases/${encodeURIComponent(caseId)}/evidence`;
    try {
      await download(path, `evidence-${caseId}.json`);
      clearError(error);
    } catch (e) {
      showError(error, e);
    }
  });

  (async () => {
    const [g, detail] = await Promise.allSettled([
      api(`cases/${encodeURIComponent(caseId)}/gantt`),
      api(`cases/${encodeURIComponent(caseId)}`),
    ]);
    if (left) return;
    const failures = [g, detail].filter((r) => r.status === "rejected").map((r) => r.reason.message);
    if (failures.length) showError(error, new Error([...new Set(failures)].join("；")));
    if (g.status === "fulfilled") {
      gantt = g.value;
      fill(head, caseHead(config, gantt));
      if (gantt.days?.length && gantt.parts?.length) {
        chartBox.style.height = `${Math.max(220, 110 + gantt.parts.length * 64)}px`;
        c = chart(chartBox);
        c.set(ganttOption(gantt, detail.status === "fulfilled" ? detail.value.timeline : []));
      } else {
        fill(chartBox, h("p", { class: "hint" }, "该办件尚未受理，暂无办理时段。"));
        chartBox.classList.add("empty");
      }
      fill(partsBox, partsTable(gantt.parts || []));
    } else {
      fill(head, caseLink(caseId));
      fill(chartBox, h("p", { class: "hint" }, "无法读取办理进度。"));
    }
    if (detail.status === "fulfilled") fill(timelineBox, timelineTable(config, detail.value.timeline || []));
  })();

  return () => {
    left = true;
    c?.dispose();
  };
}

function caseHead(config, g) {
  const item = (label, value) => h("div", { class: "kv" }, h("span", { class: "k" }, label), h("span", { class: "v" }, value));
  return h("div", { class: "kvs", dataset: { caseId: g.case_id } },
    item("办件编号", g.case_id),
    item("事项", g.matter_code || DASH),
    item("牵头部门", departmentName(config, g.lead_department)),
    item("受理时间", timeEl(g.accepted_at)),
    item("办结时限", timeEl(g.deadline)),
    item("办结时间", g.concluded_at ? timeEl(g.concluded_at) : "办理中"));
}

/** The chart: x in days since the first day's midnight in Beijing time, so ticks fall on days. */
function ganttOption(g, timeline) {
  const days = g.days;
  const day0 = Date.parse(`${days[0].date}T00:00:00+08:00`);
  const x = (iso) => (Date.parse(iso) - day0) / DAY_MS;
  const now = g.concluded_at || g.now;
  const parts = g.parts;
  const labels = parts.map((p) => `${p.department_name || p.department}\n${p.part_code}`);

  const bars = [];
  const suspensions = [];
  const deadlines = [];
  const markers = {}; // kind → [{row, at, text}]
  parts.forEach((p, row) => {
    if (p.started_at) bars.push({ value: [row, x(p.started_at), x(p.decided_at || g.now)], part: p });
    for (const s of p.suspensions || []) {
      suspensions.push({ value: [row, x(s.since), x(s.until || g.now)], part: p, s });
    }
    if (p.deadline) deadlines.push({ value: [row, x(p.deadline)], part: p });
    const cards = p.cards || [];
    for (const card of cards) {
      (markers[card.kind] ||= []).push({ value: [row, x(card.issued_at)], part: p, card });
    }
    // Urges may be known only from the timeline (the lead window's urges are alerts there too).
    if (!cards.some((card) => card.kind === "urge")) {
      for (const t of timeline) {
        const s = t.summary || {};
        const mine = s.work_order_id ? s.work_order_id === p.work_order_id : t.department === p.department;
        if (t.event_type === "cn.lianban.supervision.alert.v1" && s.kind === "urge" && mine) {
          const card = { kind: "urge", kind_text: ALERT_TEXT.urge, issued_at: s.issued_at || t.occurred_at, message: s.message || "" };
          (markers.urge ||= []).push({ value: [row, x(card.issued_at)], part: p, card });
        }
      }
    }
  });

  const clip = (params, shape) =>
    graphic.clipRectByRect(shape, {
      x: params.coordSys.x,
      y: params.coordSys.y,
      width: params.coordSys.width,
      height: params.coordSys.height,
    });
  const band = (api) => api.size([0, 1])[1];
  const span = (heightShare, color) => (params, api) => {
    const [x0, y] = api.coord([api.value(1), api.value(0)]);
    const [x1] = api.coord([api.value(2), api.value(0)]);
    const height = band(api) * heightShare;
    const shape = clip(params, { x: x0, y: y - height / 2, width: Math.max(x1 - x0, 2), height });
    const fill = typeof color === "function" ? color(params.dataIndex) : color;
    return shape && { type: "rect", shape, style: { fill, stroke: "rgba(0,0,0,.25)", lineWidth: 0.5 } };
  };

  const markerSeries = Object.entries(markers).map(([kind, items]) => ({
    id: `marker-${kind}`,
    name: items[0].card.kind_text || ALERT_TEXT[kind] || kind,
    type: "custom",
    itemStyle: { color: ALERT_COLOR[kind] || "#555" },
    encode: { x: 1, y: 0 },
    z: 6,
    data: items,
    renderItem: (params, api) => {
      const [cx, cy] = api.coord([api.value(1), api.value(0)]);
      const top = cy - band(api) * 0.3;
      const color = ALERT_COLOR[kind] || "#555";
      const style = { fill: color, stroke: "#333", lineWidth: 0.6 };
      if (cx < params.coordSys.x || cx > params.coordSys.x + params.coordSys.width) return null;
      if (kind === "yellow_card" || kind === "red_card") {
        return { type: "rect", shape: { x: cx - 4, y: top - 14, width: 9, height: 12, r: 1 }, style };
      }
      if (kind === "urge") {
        return { type: "polygon", shape: { points: [[cx, top - 14], [cx + 6, top - 8], [cx, top - 2], [cx - 6, top - 8]] }, style };
      }
      return { type: "circle", shape: { cx, cy: top - 8, r: 5 }, style };
    },
  }));

  const offDays = days.flatMap((d, i) => (d.working ? [] : [{ value: [0, i, i + 1], day: d }]));

  return {
    tooltip: {
      trigger: "item",
      confine: true,
      formatter: (p) => tooltip(p),
    },
    legend: { top: 0, data: ["办理时段", "中止计时", "办理时限", "非工作日", ...markerSeries.map((s) => s.name)] },
    grid: { left: 8, right: 24, top: 40, bottom: 24, containLabel: true },
    xAxis: {
      type: "value",
      min: 0,
      max: days.length,
      interval: Math.max(1, Math.ceil(days.length / 14)),
      position: "top",
      axisLabel: {
        formatter: (v) => {
          const d = days[v];
          if (!d) return "";
          const date = new Date(`${d.date}T00:00:00Z`);
          return `${d.date.slice(5)}\n周${WEEKDAY[date.getUTCDay()]}`;
        },
        fontSize: 11,
      },
      splitLine: { show: true, lineStyle: { color: "#e0e0e0" } },
    },
    yAxis: { type: "category", data: labels, inverse: true, axisTick: { show: false }, axisLabel: { fontSize: 12, lineHeight: 16 } },
    series: [
      {
        id: "offdays",
        name: "非工作日",
        type: "custom",
        silent: true,
        itemStyle: { color: "#e3e6ea" },
        encode: { x: [1, 2], y: 0 },
        z: 1,
        data: offDays,
        renderItem: (params, api) => {
          const [x0] = api.coord([api.value(1), 0]);
          const [x1] = api.coord([api.value(2), 0]);
          const shape = clip(params, { x: x0, y: params.coordSys.y, width: x1 - x0, height: params.coordSys.height });
          return shape && { type: "rect", shape, style: { fill: "#e3e6ea" } };
        },
      },
      {
        id: "bars",
        name: "办理时段",
        type: "custom",
        itemStyle: { color: CLOCK_COLOR.running },
        encode: { x: [1, 2], y: 0 },
        z: 3,
        data: bars,
        // A suspended part's bar keeps the running colour: its suspensions are drawn over it.
        renderItem: span(0.42, (i) => (bars[i].part.state === "suspended" ? CLOCK_COLOR.running : CLOCK_COLOR[bars[i].part.state] || CLOCK_COLOR.running)),
        markLine: {
          silent: true,
          symbol: "none",
          data: [
            ...(g.deadline ? [{ xAxis: x(g.deadline), name: "办结时限", lineStyle: { color: DEADLINE_COLOR, width: 2 } }] : []),
            ...(g.concluded_at ? [] : [{ xAxis: x(g.now), name: "当前", lineStyle: { color: "#1a237e", type: "dotted" } }]),
          ],
          label: { formatter: "{b}", position: "end", fontSize: 11 },
        },
      },
      {
        id: "suspensions",
        name: "中止计时",
        type: "custom",
        itemStyle: { color: SUSPENSION_COLOR },
        encode: { x: [1, 2], y: 0 },
        z: 4,
        data: suspensions,
        renderItem: span(0.42, SUSPENSION_COLOR),
      },
      {
        id: "deadlines",
        name: "办理时限",
        type: "custom",
        itemStyle: { color: DEADLINE_COLOR },
        encode: { x: 1, y: 0 },
        z: 5,
        data: deadlines,
        renderItem: (params, api) => {
          const [cx, cy] = api.coord([api.value(1), api.value(0)]);
          if (cx < params.coordSys.x || cx > params.coordSys.x + params.coordSys.width) return null;
          const half = band(api) * 0.38;
          return {
            type: "group",
            children: [
              { type: "line", shape: { x1: cx, y1: cy - half, x2: cx, y2: cy + half }, style: { stroke: DEADLINE_COLOR, lineWidth: 2, lineDash: [4, 3] } },
              { type: "polygon", shape: { points: [[cx - 4, cy + half + 5], [cx + 4, cy + half + 5], [cx, cy + half]] }, style: { fill: DEADLINE_COLOR } },
            ],
          };
        },
      },
      ...markerSeries,
    ],
  };

  function tooltip(p) {
    const item = p.data || {};
    const part = item.part;
    const who = part ? `${part.department_name || part.department}（${part.part_code}）<br>` : "";
    switch (p.seriesId) {
      case "bars":
        return `${who}${part.state_text}<br>开始 ${dateTime(part.started_at)}<br>决定 ${part.decided_at ? dateTime(part.decided_at) : "未决定"}`;
      case "suspensions":
        return `${who}中止计时<br>${dateTime(item.s.since)} 至 ${item.s.until ? dateTime(item.s.until) : "今"}`;
      case "deadlines":
        return `${who}办理时限 ${dateTime(part.deadline)}`;
      default:
        if (item.card) return `${who}${escape(item.card.kind_text || "")} ${dateTime(item.card.issued_at)}<br>${escape(item.card.message || "")}`;
        return "";
    }
  }
}

/** Tooltips are HTML: text from the server is escaped. */
function escape(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function partsTable(parts) {
  return table({ id: "parts", class: "data" }, ["部门", "状态", "开始", "时限", "决定", "中止", "延长(工作日)", "催办次数", "红黄牌"],
    parts.map((p) => h("tr", { class: `part-row state-${p.state}`, dataset: { department: p.department, state: p.state, workOrderId: p.work_order_id } },
      h("td", {}, p.department_name || p.department, h("div", { class: "sub" }, p.part_code)),
      h("td", { class: "part-state" }, h("span", { class: "badge", style: `--badge:${CLOCK_COLOR[p.state] || "#555"}` }, p.state_text || p.state)),
      h("td", {}, timeEl(p.started_at)),
      h("td", {}, timeEl(p.deadline)),
      h("td", {}, timeEl(p.decided_at)),
      h("td", {}, (p.suspensions || []).length
        ? p.suspensions.map((s) => h("span", { class: "suspension", dataset: { since: s.since, until: s.until || "" } },
          `${shortTime(s.since)}–${s.until ? shortTime(s.until) : "至今"}`))
        : DASH),
      h("td", {}, String(p.extension_days ?? 0)),
      h("td", {}, String(p.urge_count ?? 0)),
      h("td", {}, (p.cards || []).length
        ? p.cards.map((card) => h("span", { class: `card card-${card.kind}`, title: card.message || "", dataset: { kind: card.kind } },
          `${card.kind_text || ALERT_TEXT[card.kind] || card.kind} ${shortTime(card.issued_at)}`))
        : DASH))));
}

function timelineTable(config, entries) {
  return table({ id: "timeline", class: "data" }, ["时间", "事件", "部门", "摘要"],
    entries.map((t) => h("tr", { class: "timeline-entry", dataset: { eventType: t.event_type, eventId: t.event_id || "" } },
      h("td", { class: "nowrap" }, timeEl(t.occurred_at, fullTime)),
      h("td", { title: t.event_type }, t.event_text || t.event_type),
      h("td", {}, t.department ? departmentName(config, t.department) : DASH),
      h("td", { class: "summary", title: JSON.stringify(t.summary || {}) }, summarize(config, t)))));
}

/** Who raised an alert: supervision itself, or a staff id (the lead window's urge). */
function issuer(by) {
  if (!by) return "";
  return by === "supervision" ? "，系统自动发出" : `，经办 ${by}`;
}

/** `review<n>` / `handle`: which work a department took. */
function workText(work) {
  if (work === "handle") return "办理工作";
  const round = /^review(\d+)$/.exec(work || "");
  return round ? `第 ${round[1]} 轮预审` : work || "";
}

/** A line a person reads: who decided what, without the bulk (the full summary is the cell's title). */
function summarize(config, t) {
  const s = t.summary || {};
  const names = (codes) => (codes || []).map((c) => departmentName(config, c)).join("、");
  const action = s.action?.kind ? ACTION_TEXT[s.action.kind] || s.action.kind : null;
  switch (t.event_type) {
    case "cn.lianban.case.submitted.v1":
      return `事项 ${s.matter_code || DASH}；涉及 ${names(s.parts)}；经办 ${s.staff_id || DASH}`;
    case "cn.lianban.part.action_recorded.v1":
      return [action, s.part_state && `→ ${PART_STATE_TEXT[s.part_state] || s.part_state}`, s.staff_id && `经办 ${s.staff_id}`]
        .filter(Boolean).join(" ");
    case "cn.lianban.department.action.v1":
    case "cn.lianban.supervision.deemed_approval.v1":
      return [action, s.staff_id && `经办 ${s.staff_id}`].filter(Boolean).join(" ");
    case "cn.lianban.action.refused.v1":
      return `${ACTION_TEXT[s.action_kind] || s.action_kind || ""}：${s.reason || ""}`;
    case "cn.lianban.supervision.alert.v1":
      return `${ALERT_TEXT[s.kind] || s.kind || ""}${s.sequence > 1 ? `（第 ${s.sequence} 次）` : ""}${issuer(s.issued_by)}`;
    case "cn.lianban.case.concluded.v1":
    case "cn.lianban.case.replied.v1":
      return OUTCOME_TEXT[s.outcome] || s.outcome || "";
    case "cn.lianban.case.evaluated.v1":
      return `${s.score} 分${s.reason ? `：${s.reason}` : ""}`;
    case "cn.lianban.case.delivered.v1":
      return `${s.method || ""}${s.documents?.length ? `：${s.documents.join("、")}` : ""}`;
    case "cn.lianban.case.supplement_requested.v1":
    case "cn.lianban.case.supplemented.v1":
      return `第 ${s.round ?? 1} 轮`;
    case "cn.lianban.case.not_accepted.v1":
      return (s.reasons || []).map((r) => `${departmentName(config, r.department)}：${r.reason}`).join("；");
    case "cn.lianban.case.accepted.v1":
      return `受理时间 ${dateTime(s.accepted_at)}`;
    case "cn.lianban.work_order.issued.v1":
      return `第 ${s.round ?? 1} 轮预审${s.time_limit_days !== undefined ? `，办理时限 ${s.time_limit_days} 个工作日` : ""}`;
    case "cn.lianban.work_order.handling_started.v1":
      return s.time_limit_days !== undefined ? `办理时限 ${s.time_limit_days} 个工作日` : "";
    case "cn.lianban.work_order.closed.v1":
      return s.reason || "";
    case "cn.lianban.work_order.received.v1":
      return `签收${workText(s.work)}，${dateTime(s.received_at)}`;
    case "cn.lianban.supervision.acknowledged.v1":
      return `已回告${s.staff_id ? `，经办 ${s.staff_id}` : ""}`;
    case "cn.lianban.supervision.delivery_alert.v1":
      return `${s.cleared ? "已签收" : "超时未签收"}${s.work ? `：${workText(s.work)}` : ""}`;
    default: {
      // Any other event: its plain fields, shortly.
      const plain = Object.entries(s).filter(([k, v]) => v !== null && typeof v !== "object" && !k.endsWith("_id"));
      const text = plain.map(([k, v]) => `${k}: ${k.endsWith("_at") ? dateTime(v) : v}`).join("；");
      return text.length > 120 ? `${text.slice(0, 119)}…` : text;
    }
  }
}
