// The console's one message catalogue per language (web/i18n/<lang>.json): every visible string goes through t().
// The language follows the browser (navigator.languages) until the user picks one, which this browser remembers.
export const LANGUAGES = ["zh-CN", "en"];
const STORE = "scf-console-lang";
const catalogues = {};
let current = "zh-CN";

/** The stored choice, else the first of the browser's languages we speak, else Chinese (a Chinese-first product). */
export function preferredLanguage(stored = safeStored(), browser = navigator.languages ?? [navigator.language]) {
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of browser ?? []) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "zh-CN";
}

function safeStored() {
  try {
    return localStorage.getItem(STORE);
  } catch {
    return null;
  }
}

async function load(lang) {
  if (!catalogues[lang]) {
    const response = await fetch(new URL(`../i18n/${lang}.json`, import.meta.url));
    catalogues[lang] = await response.json();
  }
  return catalogues[lang];
}

/** Loads the language's catalogue and makes it current; `remember` stores the user's choice in this browser. */
export async function setLanguage(lang, { remember = false } = {}) {
  const chosen = LANGUAGES.includes(lang) ? lang : "zh-CN";
  await Promise.all([load(chosen), load("en")]);
  current = chosen;
  if (remember) {
    try {
      localStorage.setItem(STORE, chosen);
    } catch {
      // storage refused (private mode): the choice lasts until the page is reloaded
    }
  }
  document.documentElement.lang = chosen;
  return chosen;
}

/** The current language's BCP 47 tag (also the locale of numbers and dates). */
export function language() {
  return current;
}

/** t("orders.now", {id: 3, status: "…"}) -> the current language's text with {id} filled in. A missing key shows itself. */
export function t(key, params = {}) {
  const text = catalogues[current]?.[key] ?? catalogues.en?.[key];
  if (text === undefined) {
    console.error(`missing message ${key}`); // a defect: the browser tests fail on console errors
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** t() of an enumerated value (a status, a role, a rule): the value itself when the catalogue has no word for it. */
export function tv(group, value) {
  const key = `${group}.${String(value).replaceAll("-", "_")}`;
  return catalogues[current]?.[key] ?? catalogues.en?.[key] ?? String(value);
}

/** Fills the static page's [data-i18n] elements (text) and [data-i18n-<attr>] attributes. */
export function translateStatic(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll("[data-i18n-label]")) element.setAttribute("aria-label", t(element.dataset.i18nLabel));
}
