// Formatting as staff read it: times in Asia/Shanghai whatever the browser's zone, rates as
// percentages, missing values as a dash.

const ZONE = "Asia/Shanghai";
const parts = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function fields(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const out = {};
  for (const { type, value: v } of parts.formatToParts(date)) out[type] = v;
  return out;
}

export const DASH = "—";

/** HH:mm:ss */
export function clock(value) {
  const f = fields(value);
  return f ? `${f.hour}:${f.minute}:${f.second}` : DASH;
}

/** YYYY-MM-DD HH:mm */
export function dateTime(value) {
  const f = fields(value);
  return f ? `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}` : DASH;
}

/** YYYY-MM-DD HH:mm:ss */
export function fullTime(value) {
  const f = fields(value);
  return f ? `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}` : DASH;
}

/** MM-DD HH:mm, for dense tables. */
export function shortTime(value) {
  const f = fields(value);
  return f ? `${f.month}-${f.day} ${f.hour}:${f.minute}` : DASH;
}

/** 0.9512 → "95.1%"; null → "—". */
export function percent(rate, digits = 1) {
  return rate === null || rate === undefined ? DASH : `${(rate * 100).toFixed(digits)}%`;
}

export function number(value, digits) {
  if (value === null || value === undefined) return DASH;
  return digits === undefined ? String(value) : Number(value).toFixed(digits);
}

/** Seconds as 分 / 小时 (waiting work is counted in minutes to hours). */
export function age(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  if (seconds < 60) return "不足 1 分";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} 分`;
  return `${(seconds / 3600).toFixed(1)} 小时`;
}

/** A <time> with the ISO value kept for machines. */
export function timeEl(value, format = dateTime) {
  const el = document.createElement("time");
  if (value) el.dateTime = value;
  el.textContent = format(value);
  return el;
}
