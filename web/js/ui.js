// Small DOM helpers: elements, tables, labelled fields, and the progress/result line of every action.
import { all, api, ApiError } from "./api.js";
import { csvDownload } from "./csv.js";
import { t, tv } from "./i18n.js";

/** h("button", {type: "button", onclick}, "Text") -> element. `null`/`false` children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A section card with a heading (the heading labels the region for screen readers). */
export function card(title, ...children) {
  const id = nextId("card");
  return h("section", { class: "card", "aria-labelledby": id }, h("h3", { id }, title), ...children);
}

/** A labelled input/select: returns [label, control]; the control gets an id if it has none. */
export function field(label, control, hint) {
  if (!control.id) control.id = nextId("field");
  const hintNode = hint ? h("span", { class: "muted", id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return [h("label", { for: control.id }, label), hintNode ? h("div", {}, control, " ", hintNode) : control];
}

/**
 * A table: columns [{label, cell(row) -> node|string, num?, csv?}], with a caption and a text for no rows.
 * Long lists page (`pageSize` rows a page); every table has a CSV export of all its rows (not only the page shown):
 * a column's `csv(row)` gives its value (default: the cell's text), `csv: false` leaves it out (buttons, forms).
 */
export function table(caption, columns, rows, { empty, rowAttrs, pageSize = 25, id, file } = {}) {
  if (!rows.length) return h("p", { class: "muted", id: id ? `${id}-empty` : null }, t("table.empty_caption", { caption, empty: empty ?? t("table.nothing_yet") }));
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  let pageIndex = 0;
  const body = h("tbody");
  const pageText = h("span", { class: "pager-text", "aria-live": "polite" });
  const previous = h("button", { type: "button", class: "secondary pager-prev" }, t("table.previous"));
  const next = h("button", { type: "button", class: "secondary pager-next" }, t("table.next"));
  const renderPage = () => {
    const shown = rows.slice(pageIndex * pageSize, (pageIndex + 1) * pageSize);
    body.replaceChildren(
      ...shown.map((row) =>
        h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row)))),
      ),
    );
    pageText.textContent = t("table.page_of", { page: pageIndex + 1, pages, rows: rows.length });
    previous.disabled = pageIndex === 0;
    next.disabled = pageIndex >= pages - 1;
  };
  previous.addEventListener("click", () => {
    pageIndex = Math.max(0, pageIndex - 1);
    renderPage();
  });
  next.addEventListener("click", () => {
    pageIndex = Math.min(pages - 1, pageIndex + 1);
    renderPage();
  });
  renderPage();
  const exported = columns.filter((c) => c.csv !== false);
  const exportButton = h("button", { type: "button", class: "secondary csv-export", "aria-label": t("table.export_named", { caption }) }, t("table.export"));
  exportButton.addEventListener("click", () => {
    const lines = [exported.map((c) => c.label)];
    for (const row of rows) lines.push(exported.map((c) => (typeof c.csv === "function" ? c.csv(row) : textOf(c.cell(row)))));
    csvDownload(file ?? caption, lines);
  });
  return h(
    "div",
    { class: "table-wrap", id, "data-rows": rows.length },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      body,
    ),
    h("div", { class: "actions table-tools" }, pages > 1 ? [previous, pageText, next] : null, exportButton),
  );
}

function textOf(cell) {
  if (cell === null || cell === undefined) return "";
  return cell instanceof Node ? cell.textContent.trim() : String(cell);
}

export function statusLine() {
  return h("p", { class: "status", role: "status", "aria-live": "polite" });
}

export function setStatus(element, kind, text) {
  element.className = `status ${kind}`;
  element.setAttribute("role", kind === "error" ? "alert" : "status");
  element.textContent = text;
}

/**
 * Runs one write: disables the button, says the transaction is being mined, then shows the outcome.
 * `work` returns the message to show on success (the resulting state); errors show the API's problem detail.
 */
export async function act(button, status, pending, work, { onChain = true } = {}) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  setStatus(status, "pending", onChain ? t("act.mining", { what: pending }) : t("act.working", { what: pending }));
  try {
    const message = await work();
    setStatus(status, "ok", message ?? t("act.done"));
    return true;
  } catch (error) {
    setStatus(status, "error", error instanceof ApiError ? error.message : String(error.message || error));
    return false;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A member <select>: every active member but me (optionally with a role), labelled by id and roles. */
export async function memberPicker(me, { role, name = "member" } = {}) {
  const members = await cachedMembers();
  const select = h("select", { name, required: true }, h("option", { value: "" }, t("member.choose")));
  for (const m of members) {
    if (m.id === me?.id || m.status !== "active") continue;
    if (role && !m.roles.includes(role)) continue;
    select.append(h("option", { value: String(m.id) }, memberLabel(m)));
  }
  return select;
}

let membersPromise = null;
/** Display names of the member directory (GET /v1/members: every member sees ids, roles and names). */
const directoryNames = new Map();

export function cachedMembers(refresh = false) {
  if (refresh || !membersPromise) {
    membersPromise = all("/v1/members");
    membersPromise.then(
      (members) => {
        directoryNames.clear();
        for (const m of members) if (m.name) directoryNames.set(m.id, m.name);
      },
      () => {
        membersPromise = null;
      },
    );
  }
  return membersPromise;
}

export const ROLES = ["core_enterprise", "supplier", "financier", "auditor"];

export function roleLabel(role) {
  return tv("role", role);
}

export function rolesText(roles) {
  return roles.map(roleLabel).join(t("list.separator")) || t("member.no_role");
}

/**
 * A member as a person reads it: its display name (the `name` the API gives beside the id, e.g. `holder_name`, else
 * the member directory's), "Member 7" / "成员 7" only for a member without a profile. A member the caller may not
 * see is named by the API with a pseudonym (`holder-…`, docs/permissions.md) and no name: shown as such.
 */
export function memberName(id, name) {
  if (typeof id === "string") return t("member.pseudonym", { pseudonym: id });
  const known = name || directoryNames.get(id);
  return known ? String(known) : t("member.name", { id });
}

/** The name and the id ("华东重工 (#3)"), where the id matters (the operator's directory, pickers). */
export function memberNameWithId(id, name) {
  const known = typeof id === "number" ? name || directoryNames.get(id) : null;
  return known ? t("member.name_id", { name: known, id }) : memberName(id);
}

export function memberLabel(m) {
  return t("member.label", { name: memberNameWithId(m.id, m.name), roles: rolesText(m.roles) });
}

export function badge(text, tone) {
  return h("span", { class: `badge ${tone ?? ""}` }, text);
}

/** The loading line shown while a view reads its data; replaced by the view. */
export function loading(what) {
  return h("p", { class: "status pending", role: "status" }, t("loading", { what }));
}

export { api };
