// Small DOM helpers: elements, tables, labelled fields, and the progress/result line of every action.
import { all, api, ApiError } from "./api.js";

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

/** A table: columns [{label, cell(row) -> node|string, num?}], with a caption and a text for no rows. */
export function table(caption, columns, rows, { empty = "Nothing yet.", rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "muted" }, `${caption}: ${empty}`);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row)))),
        ),
      ),
    ),
  );
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
  setStatus(status, "pending", onChain ? `${pending}: waiting for the transaction to be mined…` : `${pending}…`);
  try {
    const message = await work();
    setStatus(status, "ok", message ?? "Done.");
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
  const select = h("select", { name, required: true }, h("option", { value: "" }, "Choose a member…"));
  for (const m of members) {
    if (m.id === me?.id || m.status !== "active") continue;
    if (role && !m.roles.includes(role)) continue;
    select.append(h("option", { value: String(m.id) }, memberLabel(m)));
  }
  return select;
}

let membersPromise = null;
export function cachedMembers(refresh = false) {
  if (refresh || !membersPromise) {
    membersPromise = all("/v1/members");
    membersPromise.catch(() => {
      membersPromise = null;
    });
  }
  return membersPromise;
}

export const ROLE_LABELS = {
  core_enterprise: "core enterprise",
  supplier: "supplier",
  financier: "bank",
  auditor: "auditor",
};

export function memberLabel(m) {
  return `Member ${m.id} (${m.roles.map((r) => ROLE_LABELS[r] ?? r).join(", ") || "no role"})`;
}

export function badge(text, tone) {
  return h("span", { class: `badge ${tone ?? ""}` }, text);
}

/** The loading line shown while a view reads its data; replaced by the view. */
export function loading(what) {
  return h("p", { class: "status pending", role: "status" }, `Loading ${what}…`);
}

export { api };
