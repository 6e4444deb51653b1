// Sign-in, the views a member's roles allow, and hash navigation between them.
import { api, apiKey, ApiError, setSignatureHandler } from "./api.js";
import { money, setCurrency } from "./format.js";
import { language, preferredLanguage, setLanguage, t, translateStatic } from "./i18n.js";
import { cachedMembers, h, memberName, rolesText, setStatus } from "./ui.js";
import * as bank from "./views/bank.js";
import * as core from "./views/core.js";
import * as keys from "./views/keys.js";
import * as operator from "./views/operator.js";
import * as oversight from "./views/oversight.js";
import * as supplier from "./views/supplier.js";

const VIEWS = [
  { id: "supplier", title: "nav.supplier", module: supplier, allowed: (p) => p.roles.includes("supplier") },
  { id: "core", title: "nav.core", module: core, allowed: (p) => p.roles.includes("core_enterprise") },
  { id: "bank", title: "nav.bank", module: bank, allowed: (p) => p.roles.includes("financier") },
  { id: "oversight", title: "nav.oversight", module: oversight, allowed: (p) => p.roles.includes("auditor") || p.operator },
  { id: "operator", title: "nav.operator", module: operator, allowed: (p) => p.operator },
  { id: "keys", title: "nav.keys", module: keys, allowed: (p) => !p.operator },
];

const state = { principal: null };

/** Who the key belongs to: a member (GET /v1/members/me) or the operator (not a member, but may list members). */
async function whoAmI() {
  try {
    const me = await api("/v1/members/me");
    return { operator: false, me, roles: me.roles };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.type.endsWith("/not-a-member")) {
      return { operator: true, me: null, roles: [] };
    }
    throw error;
  }
}

async function loadCurrency(principal) {
  try {
    const query = principal.operator ? { member_id: 1 } : {};
    const balance = await api("/v1/cash/balance", { query });
    setCurrency(balance.currency);
  } catch {
    // no member yet (fresh ledger): keep the default currency
  }
}

function renderWho(principal) {
  const who = document.getElementById("who");
  const label = principal.operator
    ? t("who.operator")
    : t("who.member", { name: memberName(principal.me.id, principal.me.name), roles: rolesText(principal.roles) });
  who.replaceChildren(
    h("span", { id: "who-label" }, label),
    h("button", { type: "button", id: "sign-out", onclick: signOut }, t("who.sign_out")),
  );
}

function renderNav(views, current) {
  const nav = document.getElementById("views");
  nav.hidden = false;
  nav.replaceChildren(
    ...views.map((v) =>
      h("a", { href: `#${v.id}`, id: `nav-${v.id}`, "aria-current": v.id === current ? "page" : null }, t(v.title)),
    ),
  );
}

async function show() {
  const principal = state.principal;
  if (!principal) return;
  const views = VIEWS.filter((v) => v.allowed(principal));
  const container = document.getElementById("view");
  if (!views.length) {
    container.replaceChildren(h("p", {}, t("view.no_role")));
    return;
  }
  const wanted = window.location.hash.replace(/^#/, "").split("/")[0];
  const view = views.find((v) => v.id === wanted) ?? views[0];
  renderNav(views, view.id);
  document.title = `${t(view.title)} · ${t("page.title")}`;
  const root = h("div", { id: `view-${view.id}`, "aria-busy": "true" }, h("h2", {}, t(view.title)));
  container.replaceChildren(root);
  const ctx = {
    ...principal,
    money,
    /** Re-renders the current view from fresh reads (after a write: read-your-writes). */
    refresh: () => show(),
  };
  try {
    await view.module.render(root, ctx);
  } catch (error) {
    root.append(h("p", { class: "status error", role: "alert" }, error.message || String(error)));
  } finally {
    root.setAttribute("aria-busy", "false");
  }
}

async function signIn(key) {
  const status = document.getElementById("signin-status");
  apiKey.set(key);
  setStatus(status, "pending", t("signin.checking"));
  try {
    state.principal = await whoAmI();
  } catch (error) {
    apiKey.clear();
    setStatus(status, "error", error.message);
    return;
  }
  setStatus(status, "ok", "");
  await loadCurrency(state.principal);
  await cachedMembers(true).catch(() => []); // the directory's names; a view that needs it reads it again
  document.getElementById("signin").hidden = true;
  renderWho(state.principal);
  await show();
  document.getElementById("main").focus();
}

function signOut() {
  apiKey.clear();
  state.principal = null;
  document.getElementById("who").replaceChildren();
  document.getElementById("views").hidden = true;
  document.getElementById("view").replaceChildren();
  document.getElementById("signin").hidden = false;
  document.getElementById("api-key").value = "";
  document.getElementById("api-key").focus();
}

/** Switching the language re-draws the page in it (the view is read again; nothing is sent). */
async function switchLanguage(lang) {
  await setLanguage(lang, { remember: true });
  translateStatic();
  document.title = t("page.title");
  if (state.principal) {
    renderWho(state.principal);
    await show();
  }
}

// a self-custody member's writes are signed by the member (js/signing.js, loaded with ethers only when needed)
setSignatureHandler(async (prepared) => (await import("./signing.js")).askForSignature(prepared));

// The catalogue loads first; handlers are bound at once (a quick click waits for it instead of submitting the form).
const ready = setLanguage(preferredLanguage()).then((lang) => {
  translateStatic();
  document.title = t("page.title");
  document.getElementById("lang-switch").value = lang;
  document.body.dataset.language = language();
});
document.getElementById("lang-switch").addEventListener("change", async (event) => {
  await ready;
  await switchLanguage(event.target.value);
  document.body.dataset.language = language();
});
document.getElementById("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await ready;
  const key = document.getElementById("api-key").value.trim();
  if (key) signIn(key);
});
window.addEventListener("hashchange", () => ready.then(() => show()));
ready.then(() => (apiKey.get() ? signIn(apiKey.get()) : undefined));
