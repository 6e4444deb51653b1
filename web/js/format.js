// Amounts, dates and identifiers as a person reads them (the console's language; the ledger's currency).
import { language, t } from "./i18n.js";

let ledgerCurrency = "CNY";

export function setCurrency(code) {
  if (/^[A-Z]{3}$/.test(code ?? "")) ledgerCurrency = code;
}

export function currency() {
  return ledgerCurrency;
}

/**
 * "1250000.00" -> "CN¥1,250,000.00", grouped the way the console's language groups. The renminbi is written CN¥ in
 * every language (zh-CN's own symbol, ¥, is also the yen's). Decimal strings are formatted exactly.
 */
export function money(amount, code = ledgerCurrency) {
  if (amount === null || amount === undefined || amount === "") return "—";
  try {
    const parts = new Intl.NumberFormat(language(), { style: "currency", currency: code }).formatToParts(String(amount));
    return parts.map((p) => (p.type === "currency" && code === "CNY" ? "CN¥" : p.value)).join("");
  } catch {
    return `${amount} ${code}`;
  }
}


/** Decimal string -> integer minor units (2 places), or null when it is not a valid non-negative amount. */
export function toMinor(text) {
  const match = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(String(text ?? "").replace(/[,\s_]/g, ""));
  if (!match) return null;
  return BigInt(match[1]) * 100n + BigInt((match[2] ?? "").padEnd(2, "0"));
}

/** Integer minor units -> the API's decimal string ("1234.50"). */
export function fromMinor(minor) {
  const value = BigInt(minor);
  const cents = (value % 100n).toString().padStart(2, "0");
  return `${value / 100n}.${cents}`;
}

/** Normalises what a person typed ("1,250,000.5") to the API's form ("1250000.50"); null when invalid. */
export function normaliseAmount(text) {
  const minor = toMinor(text);
  return minor === null ? null : fromMinor(minor);
}

export function date(iso) {
  if (!iso) return "—";
  const value = new Date(iso);
  return Number.isNaN(value.getTime()) ? String(iso) : value.toLocaleDateString(language(), { dateStyle: "medium" });
}

export function dateTime(iso) {
  if (!iso) return "—";
  const value = new Date(iso);
  return Number.isNaN(value.getTime()) ? String(iso) : value.toLocaleString(language(), { dateStyle: "medium", timeStyle: "short" });
}

export function daysUntil(iso, now = new Date()) {
  if (!iso) return null;
  return Math.ceil((new Date(iso).getTime() - now.getTime()) / 86_400_000);
}

export function shortHash(hash) {
  return hash && hash.length > 14 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash ?? "—";
}

export function percent(part, whole) {
  if (!whole) return "—";
  return new Intl.NumberFormat(language(), { style: "percent", maximumFractionDigits: 1 }).format(part / whole);
}

/** SHA-256 of a document reference as the 0x-hex 32-byte hash the API expects; a 0x hash is kept as it is. */
export async function documentHash(text) {
  const value = String(text ?? "").trim();
  if (/^0x[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  if (!globalThis.crypto?.subtle) throw new Error(t("error.insecure_origin"));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return `0x${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** "2026-03" of a date (its month, for grouping) and that month as the language writes it ("2026年3月", "March 2026"). */
export function monthKey(iso) {
  return String(iso ?? "").slice(0, 7);
}

export function monthLabel(key) {
  const [year, month] = key.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, 1)).toLocaleDateString(language(), { year: "numeric", month: "short", timeZone: "UTC" });
}
