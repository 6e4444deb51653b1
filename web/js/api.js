// The console's only way to the ledger: the public /v1 HTTP API, with the key from this tab's session storage.
import { language, t } from "./i18n.js";

const KEY_NAME = "scf-console-api-key";

export const apiKey = {
  get: () => sessionStorage.getItem(KEY_NAME),
  set: (key) => sessionStorage.setItem(KEY_NAME, key),
  clear: () => sessionStorage.removeItem(KEY_NAME),
};

/** An API refusal: the problem+json body, with a message in plain words for the page. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(describeProblem(status, problem));
    this.status = status;
    this.problem = problem;
    this.type = problem?.type ?? "";
  }
}

export function describeProblem(status, problem) {
  if (!problem || typeof problem !== "object") return t("error.no_explanation", { status });
  const title = problem.title || t("error.status", { status });
  const detail = problem.detail ? String(problem.detail) : "";
  const sentence = detail ? `${title}: ${detail.charAt(0).toUpperCase()}${detail.slice(1)}` : title;
  return /[.!?。！？]$/.test(sentence) ? sentence : `${sentence}${t("sentence.end")}`;
}

function idempotencyKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `console-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

let signatureHandler = null;

/**
 * How a self-custody member signs (js/signing.js, set by app.js): `handler(prepared)` resolves to the signed raw
 * transaction, or rejects when the member does not sign (then nothing is sent).
 */
export function setSignatureHandler(handler) {
  signatureHandler = handler;
}

/**
 * Calls the API; resolves to the JSON body, rejects with ApiError (problem detail) or a network ApiError.
 * A write of a self-custody member is answered 202 with a transaction to sign: the member signs it (the handler)
 * and the signed transaction goes to POST /v1/transactions, whose answer is the write's own (or another 202).
 */
export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  // problem details in the console's language where the API has them (its stable `type` is the same in all)
  const headers = { Accept: "application/json, application/problem+json", "Accept-Language": language() };
  const key = apiKey.get();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["Idempotency-Key"] = idempotencyKey(); // a retried click cannot send a second transaction
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body: method === "GET" ? undefined : JSON.stringify(body ?? {}) });
  } catch (error) {
    throw new ApiError(0, { title: t("error.no_answer"), detail: String(error.message || error) });
  }
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { title: t("error.status", { status: response.status }), detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  if (response.status === 202 && data?.status === "signature-required" && signatureHandler) {
    const raw = await signatureHandler(data);
    return api(data.submit || "/v1/transactions", { method: "POST", body: { raw, prepared_id: data.prepared_id } });
  }
  return data;
}

/** Every item of a paged list (follows next_cursor; stops after `max` items). */
export async function all(path, query = {}, max = 2000) {
  const items = [];
  let cursor;
  do {
    const page = await api(path, { query: { ...query, limit: 500, cursor } });
    items.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && items.length < max);
  return items;
}
