// Tiny DOM helpers. Everything the server sends is put in as text (never innerHTML), so a case
// summary or a dead letter's error cannot inject markup into the console.

/** h("td", {class: "x", dataset: {id: 1}}, "text", child) → an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table: head is a list of header texts, rows a list of <tr> elements. */
export function table(attrs, head, rows) {
  return h("table", attrs, h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows));
}

/** The page's error box: the server's own words, visible, until the next success. */
export function errorBox() {
  return h("div", { class: "error", role: "alert", hidden: true });
}

export function showError(box, error) {
  box.textContent = error?.message || String(error);
  box.hidden = false;
}

export function clearError(box) {
  box.textContent = "";
  box.hidden = true;
}

/** A page section with a heading. */
export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", {}, title), children);
}

/** A link to a case's page. */
export function caseLink(caseId) {
  if (!caseId) return "—";
  return h("a", { href: `#/cases/${encodeURIComponent(caseId)}`, class: "case-link" }, caseId);
}

/** A status line: shows the text (red when bad) and hides itself when there is none. */
export function sayer(message) {
  return (text, bad = false) => {
    message.textContent = text;
    message.classList.toggle("bad", bad);
    message.hidden = !text;
  };
}

/** Each call starts a load and returns whether that load is still the newest: a slower, older answer
 * (the filter changed meanwhile) must not overwrite a newer one. */
export function newestOnly() {
  let latest = 0;
  return () => {
    const mine = ++latest;
    return () => mine === latest;
  };
}
