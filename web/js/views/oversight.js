// Regulator / auditor (and the operator): alerts with their evidence, the audit log and its integrity check.
// Both lists are filtered by the API (its query parameters) and paged in the browser; chain time (the block) and
// wall time (the service's clock) are labelled as such.
import { all, api, ApiError } from "../api.js";
import { chartBox } from "../charts.js";
import { dateTime, shortHash } from "../format.js";
import { t, tv } from "../i18n.js";
import { badge, card, field, h, memberName, table } from "../ui.js";

export const RULES = ["structuring", "circular_trade", "related_party", "concentration", "rejected-attempts"];
export const SEVERITIES = ["high", "medium", "low"];
const RESULTS = ["ok", "rejected", "error"];

// the filters last applied (kept when the view is drawn again, e.g. after switching the language)
const filters = { alerts: {}, audit: {} };

export async function render(root) {
  const [alerts, audit, integrity] = await Promise.all([
    all("/v1/alerts", filters.alerts),
    all("/v1/audit", filters.audit, 5000).catch((error) => error),
    api("/v1/audit/verify").catch((error) => error),
  ]);
  const entries = audit instanceof Error ? [] : audit;
  const focus = window.location.hash.split("/tx/")[1];
  const txFocus = focus ? txHash(decodeURIComponent(focus)) : "";
  const chart = alertsChart(alerts);
  root.append(
    ...(txFocus ? [txCard(txFocus, entries, alerts)] : []),
    alertsCard(alerts, chart),
    integrityCard(integrity),
    auditCard(audit),
    h("p", { class: "muted", id: "time-note" }, t("oversight.time_note")),
  );
  chart.draw();
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

/** Alerts counted by rule, stacked by severity. */
export function alertCounts(alerts) {
  return SEVERITIES.map((severity) => RULES.map((rule) => alerts.filter((a) => a.rule === rule && a.severity === severity).length));
}

function alertsChart(alerts) {
  const counts = alertCounts(alerts);
  const colours = { high: "#a11a1a", medium: "#7a4b00", low: "#4a5560" };
  return chartBox("oversight-alerts-chart", t("alerts.chart_title"), {
    title: { text: t("alerts.chart_title"), left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: 50, right: 20, top: 50, bottom: 70 },
    xAxis: { type: "category", data: RULES.map((r) => tv("rule", r)), axisLabel: { interval: 0 } },
    yAxis: { type: "value", name: t("alerts.axis_count"), minInterval: 1 },
    series: SEVERITIES.map((severity, i) => ({
      name: tv("severity", severity),
      type: "bar",
      stack: "alerts",
      itemStyle: { color: colours[severity] },
      data: counts[i],
    })),
  });
}

/** A filter form: `controls` [[key, label, control]]; applying stores the values and draws the view again. */
function filterForm(id, group, controls) {
  const apply = h("button", { type: "submit", class: "secondary" }, t("filters.apply"));
  const clear = h("button", { type: "button", class: "secondary" }, t("filters.clear"));
  const form = h("form", { class: "filters actions", id, role: "search", "aria-label": t("filters.label") }, controls.map(([, label, control]) => h("div", { class: "filter" }, field(label, control))), apply, clear);
  const redraw = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters[group] = {};
    for (const [key, , control] of controls) {
      const value = control.value.trim();
      if (value) filters[group][key] = key === "since" || key === "until" ? new Date(`${value}T00:00:00`).toISOString() : value;
    }
    redraw();
  });
  clear.addEventListener("click", () => {
    filters[group] = {};
    redraw();
  });
  return form;
}

function choice(id, values, group, current) {
  return h("select", { id }, h("option", { value: "" }, t("filters.any")), values.map((v) => h("option", { value: v, selected: v === current }, tv(group, v))));
}

function alertsCard(alerts, chart) {
  const tone = { high: "bad", medium: "warn", low: "" };
  const f = filters.alerts;
  const form = filterForm("alert-filters", "alerts", [
    ["rule", t("col.rule"), choice("alert-rule", RULES, "rule", f.rule)],
    ["severity", t("col.severity"), choice("alert-severity", SEVERITIES, "severity", f.severity)],
    ["member_id", t("col.member_id"), h("input", { id: "alert-member", type: "number", min: 1, value: f.member_id ?? "" })],
  ]);
  return card(
    t("alerts.title"),
    chart.box,
    form,
    table(
      t("alerts.caption"),
      [
        { label: t("alerts.col_alert"), cell: (a) => t("alerts.name", { id: a.id }) },
        { label: t("col.rule"), cell: (a) => tv("rule", a.rule) },
        { label: t("col.severity"), cell: (a) => badge(tv("severity", a.severity), tone[a.severity]) },
        { label: t("col.members"), cell: (a) => a.members.map((m, i) => memberName(m, a.member_names?.[i])).join(t("list.separator")) },
        { label: t("col.chain_time"), num: true, cell: (a) => String(a.block) },
        { label: t("col.wall_time"), cell: (a) => dateTime(a.created), csv: (a) => a.created },
        {
          label: t("col.evidence"),
          cell: (a) => h("div", { class: "actions" }, a.evidence.map((e) => (/^(0x)?[0-9a-f]{64}$/i.test(e) ? txLink(e) : h("span", {}, e)))),
          csv: (a) => a.evidence.join(" "),
        },
      ],
      alerts,
      { empty: t("alerts.none"), id: "alerts-table", rowAttrs: (a) => ({ "data-alert-id": a.id }) },
    ),
  );
}

function unavailable(error) {
  if (error instanceof ApiError && error.status === 404 && error.problem?.detail === "Not Found") return t("audit.unavailable");
  return error.message;
}

function integrityCard(result) {
  if (result instanceof Error) return card(t("integrity.title"), h("p", { class: "status error", id: "audit-integrity" }, unavailable(result)));
  const text = result.ok
    ? t("integrity.intact_text", { entries: result.entries, seq: result.head_seq, head: shortHash(result.head_hash) })
    : t("integrity.broken_text", { seq: result.first_bad_seq, detail: result.detail });
  return card(
    t("integrity.title"),
    h("p", { id: "audit-integrity", "data-ok": String(result.ok), "data-entries": result.entries }, badge(result.ok ? t("integrity.intact") : t("integrity.broken"), result.ok ? "good" : "bad"), " ", text),
    h("p", { class: "muted" }, t("integrity.note_before"), h("code", {}, "scf audit verify"), t("integrity.note_after")),
  );
}

function auditCard(audit) {
  if (audit instanceof Error) return card(t("audit.title"), h("p", { class: "status error" }, unavailable(audit)));
  const f = filters.audit;
  const day = (iso) => (iso ? new Date(iso).toLocaleDateString("sv") : "");
  const form = filterForm("audit-filters", "audit", [
    ["member_id", t("audit.filter_member"), h("input", { id: "audit-member", type: "number", min: 0, value: f.member_id ?? "" })],
    ["action", t("audit.filter_action"), h("input", { id: "audit-action", autocomplete: "off", value: f.action ?? "", placeholder: "accept_order" })],
    ["result", t("col.result"), choice("audit-result", RESULTS, "result", f.result)],
    ["since", t("audit.filter_since"), h("input", { id: "audit-since", type: "date", value: day(f.since) })],
    ["until", t("audit.filter_until"), h("input", { id: "audit-until", type: "date", value: day(f.until) })],
  ]);
  const who = (e) => (e.member_id ? memberName(e.member_id) : e.member_id === 0 ? t("audit.operator") : t("audit.unknown_key"));
  return card(
    t("audit.title"),
    form,
    table(
      t("audit.caption"),
      [
        { label: t("col.seq"), num: true, cell: (e) => String(e.seq) },
        { label: t("col.wall_time_utc"), cell: (e) => dateTime(e.at), csv: (e) => e.at },
        { label: t("col.who"), cell: who },
        { label: t("col.action"), cell: (e) => h("code", {}, e.action ?? `${e.method} ${e.path}`) },
        { label: t("col.result"), cell: (e) => badge(`${e.status} ${tv("result", e.result)}`, e.status < 400 ? "good" : "bad") },
        { label: t("col.transactions"), cell: (e) => h("div", { class: "actions" }, (e.tx_hashes ?? []).map(txLink)), csv: (e) => (e.tx_hashes ?? []).join(" ") },
        { label: t("col.hash"), cell: (e) => h("span", { class: "hash", title: e.hash }, shortHash(e.hash)), csv: (e) => e.hash },
      ],
      [...audit].reverse(),
      { empty: t("audit.none"), pageSize: 50, id: "audit-table", rowAttrs: (e) => ({ "data-seq": e.seq }) },
    ),
  );
}

function txCard(hash, entries, alerts) {
  const sent = entries.filter((e) => (e.tx_hashes ?? []).map(txHash).includes(hash));
  const cited = alerts.filter((a) => a.evidence.map(txHash).includes(hash));
  return card(
    t("tx.title"),
    h("p", {}, t("tx.label"), h("span", { class: "hash", id: "tx-hash" }, hash)),
    h("p", {}, t("tx.cited", { alerts: cited.length ? cited.map((a) => t("tx.alert", { id: a.id, rule: tv("rule", a.rule) })).join(t("list.separator")) : t("tx.no_alert") })),
    table(
      t("tx.entries"),
      [
        { label: t("col.seq"), num: true, cell: (e) => String(e.seq) },
        { label: t("col.wall_time_utc"), cell: (e) => dateTime(e.at), csv: (e) => e.at },
        { label: t("col.who"), cell: (e) => (e.member_id ? memberName(e.member_id) : t("audit.operator")) },
        { label: t("col.request"), cell: (e) => h("code", {}, `${e.method} ${e.path}`) },
      ],
      sent,
      { empty: t("tx.none") },
    ),
    h("p", { class: "muted" }, t("tx.any_node"), h("code", {}, `cast tx ${hash}`), t("sentence.end")),
  );
}
