// Regulator / auditor (and the operator): alerts with their evidence, the audit log and its integrity check.
import { all, api, ApiError } from "../api.js";
import { dateTime, shortHash } from "../format.js";
import { badge, card, h, table } from "../ui.js";

export async function render(root) {
  const [alerts, audit, integrity] = await Promise.all([
    all("/v1/alerts"),
    all("/v1/audit", {}, 5000).catch((error) => error),
    api("/v1/audit/verify").catch((error) => error),
  ]);
  const entries = audit instanceof Error ? [] : audit;
  const focus = window.location.hash.split("/tx/")[1];
  const txFocus = focus ? txHash(decodeURIComponent(focus)) : "";
  root.append(
    ...(txFocus ? [txCard(txFocus, entries, alerts)] : []),
    alertsCard(alerts),
    integrityCard(integrity),
    auditCard(audit),
  );
}

/** Transaction hashes as 0x-prefixed lower-case hex (alert evidence may come without the prefix). */
function txHash(text) {
  const value = String(text).toLowerCase();
  return value.startsWith("0x") ? value : `0x${value}`;
}

function txLink(hash) {
  const tx = txHash(hash);
  return h("a", { href: `#oversight/tx/${tx}`, class: "hash", title: tx }, shortHash(tx));
}

function alertsCard(alerts) {
  const tone = { high: "bad", medium: "warn", low: "" };
  return card(
    "Alerts",
    table(
      "Alerts raised by the rules (newest last)",
      [
        { label: "Alert", cell: (a) => `Alert ${a.id}` },
        { label: "Rule", cell: (a) => a.rule.replaceAll("_", " ") },
        { label: "Severity", cell: (a) => badge(a.severity, tone[a.severity]) },
        { label: "Members", cell: (a) => a.members.map((m) => `member ${m}`).join(", ") },
        { label: "Block", num: true, cell: (a) => String(a.block) },
        { label: "Raised", cell: (a) => dateTime(a.created) },
        { label: "Evidence (transactions)", cell: (a) => h("div", { class: "actions" }, a.evidence.map((e) => (/^(0x)?[0-9a-f]{64}$/i.test(e) ? txLink(e) : h("span", {}, e)))) },
      ],
      alerts,
      { empty: "no alert.", rowAttrs: (a) => ({ "data-alert-id": a.id }) },
    ),
  );
}

function unavailable(error) {
  if (error instanceof ApiError && error.status === 404 && error.problem?.detail === "Not Found") {
    return "This service has no audit log yet (GET /v1/audit is not available).";
  }
  return error.message;
}

function integrityCard(result) {
  if (result instanceof Error) return card("Audit log integrity", h("p", { class: "status error", id: "audit-integrity" }, unavailable(result)));
  const text = result.ok
    ? `Intact: ${result.entries} entries chained by hash up to entry ${result.head_seq} (head ${shortHash(result.head_hash)}).`
    : `Broken at entry ${result.first_bad_seq}: ${result.detail}`;
  return card(
    "Audit log integrity",
    h("p", { id: "audit-integrity" }, badge(result.ok ? "intact" : "broken", result.ok ? "good" : "bad"), " ", text),
    h("p", { class: "muted" }, "Each entry holds the hash of the one before it; the service recomputes the chain (also: ", h("code", {}, "scf audit verify"), ")."),
  );
}

function auditCard(audit) {
  if (audit instanceof Error) return card("Audit log", h("p", { class: "status error" }, unavailable(audit)));
  return card(
    "Audit log",
    table(
      "Latest 200 audited requests, newest first",
      [
        { label: "Seq", num: true, cell: (e) => String(e.seq) },
        { label: "At", cell: (e) => dateTime(e.at) },
        { label: "Who", cell: (e) => (e.member_id ? `Member ${e.member_id}` : "operator") },
        { label: "Action", cell: (e) => e.action ?? `${e.method} ${e.path}` },
        { label: "Result", cell: (e) => badge(`${e.status} ${e.result}`, e.status < 400 ? "good" : "bad") },
        { label: "Transactions", cell: (e) => h("div", { class: "actions" }, (e.tx_hashes ?? []).map(txLink)) },
        { label: "Hash", cell: (e) => h("span", { class: "hash", title: e.hash }, shortHash(e.hash)) },
      ],
      audit.slice(-200).reverse(),
      { empty: "no entry yet.", rowAttrs: (e) => ({ "data-seq": e.seq }) },
    ),
  );
}

function txCard(hash, entries, alerts) {
  const sent = entries.filter((e) => (e.tx_hashes ?? []).map(txHash).includes(hash));
  const cited = alerts.filter((a) => a.evidence.map(txHash).includes(hash));
  return card(
    "Transaction",
    h("p", {}, "Transaction ", h("span", { class: "hash", id: "tx-hash" }, hash)),
    h("p", {}, `Cited by ${cited.length ? cited.map((a) => `alert ${a.id} (${a.rule})`).join(", ") : "no alert"}.`),
    table(
      "Audit entries of the request that sent it",
      [
        { label: "Seq", num: true, cell: (e) => String(e.seq) },
        { label: "At", cell: (e) => dateTime(e.at) },
        { label: "Who", cell: (e) => (e.member_id ? `Member ${e.member_id}` : "operator") },
        { label: "Request", cell: (e) => `${e.method} ${e.path}` },
      ],
      sent,
      { empty: "none in the audit log." },
    ),
    h("p", { class: "muted" }, "Any node of the network shows it too, e.g. ", h("code", {}, `cast tx ${hash}`), "."),
  );
}
