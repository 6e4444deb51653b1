// Supplier: my notes by obligor and maturity, split/transfer, bulk payment, financing offers, my orders and pledges.
import { all, api } from "../api.js";
import { amountAxis, chartBox } from "../charts.js";
import { csvDownload } from "../csv.js";
import { date, daysUntil, documentHash, fromMinor, money, normaliseAmount, toMinor } from "../format.js";
import { t, tv } from "../i18n.js";
import { act, badge, cachedMembers, card, field, h, memberName, memberPicker, setStatus, statusLine, table } from "../ui.js";

export async function render(root, ctx) {
  const me = ctx.me;
  const [balance, notes, offers, orders, requests] = await Promise.all([
    api("/v1/cash/balance"),
    all("/v1/notes"),
    all("/v1/financing/offers", { status: "open" }),
    all("/v1/orders"),
    all("/v1/financing/requests"),
  ]);
  const held = notes.filter((n) => n.holder_id === me.id);
  const ladder = ladderCard(held);
  root.append(
    cashCard(balance),
    ladder.section,
    notesCard(held),
    await moveCard(held, ctx),
    payCard(held, ctx),
    await requestCard(held, requests.filter((r) => r.requester_id === me.id), ctx),
    offersCard(offers.filter((o) => o.holder_id === me.id), held, balance, ctx),
    await ordersCard(orders, ctx),
  );
  ladder.draw?.();
}

/** Days-to-maturity buckets of the maturity ladder (the same as the API's aging buckets). */
export const BUCKETS = [
  { key: "overdue", upTo: 0 },
  { key: "0-30", upTo: 30 },
  { key: "31-60", upTo: 60 },
  { key: "61-90", upTo: 90 },
  { key: "91-180", upTo: 180 },
  { key: ">180", upTo: Infinity },
];

export function bucketOf(maturity, now = new Date()) {
  const days = daysUntil(maturity, now);
  if (days === null || days < 0) return "overdue";
  return BUCKETS.find((b) => days <= b.upTo).key;
}

/** The maturity ladder: what I hold falling due in each bucket, stacked by obligor. */
function ladderCard(held) {
  if (!held.length) return { section: card(t("ladder.title"), h("p", { class: "muted" }, t("notes.none"))) };
  const obligors = [...new Set(held.map((n) => n.obligor_id))].sort((a, b) => a - b);
  const sums = new Map(obligors.map((o) => [o, BUCKETS.map(() => 0n)]));
  for (const note of held) {
    const index = BUCKETS.findIndex((b) => b.key === bucketOf(note.maturity));
    sums.get(note.obligor_id)[index] += toMinor(note.value);
  }
  const { box, draw } = chartBox("supplier-ladder-chart", t("ladder.title"), {
    title: { text: t("ladder.title"), left: "center", textStyle: { fontSize: 14 } },
    legend: { bottom: 0, type: "scroll" },
    grid: { left: 70, right: 20, top: 50, bottom: 60 },
    xAxis: { type: "category", name: t("ladder.axis_days"), nameLocation: "middle", nameGap: 28, data: BUCKETS.map((b) => tv("bucket", b.key)) },
    yAxis: amountAxis(t("chart.axis_amount")),
    series: obligors.map((o) => ({
      name: memberName(o),
      type: "bar",
      stack: "held",
      data: sums.get(o).map((minor) => Number(fromMinor(minor))),
    })),
  });
  return { section: card(t("ladder.title"), box, h("p", { class: "muted" }, t("ladder.hint"))), draw };
}

export function cashCard(balance) {
  return card(
    t("cash.title"),
    h("p", {}, t("cash.balance"), h("span", { id: "cash-balance", class: "big", "data-amount": balance.balance }, money(balance.balance, balance.currency))),
  );
}

/** Notes grouped by obligor, then by maturity date, with subtotals and a total. */
function notesCard(held) {
  if (!held.length) return card(t("notes.title"), h("p", { class: "muted" }, t("notes.none")));
  const groups = new Map();
  for (const note of held) {
    const key = `${note.obligor_id}`;
    if (!groups.has(key)) groups.set(key, new Map());
    const byMaturity = groups.get(key);
    const day = (note.maturity ?? "").slice(0, 10);
    if (!byMaturity.has(day)) byMaturity.set(day, []);
    byMaturity.get(day).push(note);
  }
  const sum = (list) => fromMinor(list.reduce((total, n) => total + toMinor(n.value), 0n));
  const body = h("tbody");
  for (const [obligor, byMaturity] of [...groups].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    body.append(h("tr", { class: "group" }, h("th", { colspan: 5, scope: "rowgroup" }, t("notes.obligor_group", { name: memberName(obligor) }))));
    const inGroup = [];
    for (const [day, list] of [...byMaturity].sort()) {
      for (const note of list) {
        inGroup.push(note);
        body.append(
          h(
            "tr",
            { "data-note-id": note.id },
            h("td", {}, t("note.name", { id: note.id })),
            h("td", {}, t("receivable.name", { id: note.receivable_id })),
            h("td", {}, date(day)),
            h("td", { class: "num" }, money(note.value, note.currency)),
            h("td", {}, note.lienholder_id ? badge(t("notes.pledged_to", { name: memberName(note.lienholder_id, note.lienholder_name) }), "warn") : t("notes.free")),
          ),
        );
      }
      if (list.length > 1) {
        body.append(h("tr", { class: "subtotal" }, h("td", { colspan: 3 }, t("notes.maturing", { date: date(day) })), h("td", { class: "num" }, money(sum(list))), h("td")));
      }
    }
    body.append(h("tr", { class: "subtotal" }, h("td", { colspan: 3 }, t("notes.total_owed_by", { name: memberName(obligor) })), h("td", { class: "num" }, money(sum(inGroup))), h("td")));
  }
  const csvRows = [...held]
    .sort((a, b) => a.obligor_id - b.obligor_id || String(a.maturity).localeCompare(String(b.maturity)))
    .map((n) => [memberName(n.obligor_id, n.obligor_name), t("note.name", { id: n.id }), t("receivable.name", { id: n.receivable_id }), date(n.maturity), n.value, n.lienholder_id ? t("notes.pledged_to", { name: memberName(n.lienholder_id, n.lienholder_name) }) : t("notes.free")]);
  const exportButton = h("button", { type: "button", class: "secondary csv-export", "aria-label": t("table.export_named", { caption: t("notes.caption") }) }, t("table.export"));
  exportButton.addEventListener("click", () =>
    csvDownload(t("notes.caption"), [[t("notes.col_obligor"), ...NOTE_COLUMNS().slice(0, 4), t("notes.col_lien")], ...csvRows]),
  );
  return card(
    t("notes.title"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "my-notes" },
        h("caption", {}, t("notes.caption")),
        h("thead", {}, h("tr", {}, NOTE_COLUMNS().map((label, i) => h("th", { scope: "col", class: i === 3 ? "num" : null }, label)))),
        body,
        h("tfoot", {}, h("tr", {}, h("td", { colspan: 3 }, t("notes.all")), h("td", { class: "num", id: "notes-total" }, money(sum(held))), h("td"))),
      ),
      h("div", { class: "actions table-tools" }, exportButton),
    ),
  );
}

const NOTE_COLUMNS = () => [t("notes.col_note"), t("notes.col_receivable"), t("notes.col_maturity"), t("notes.col_value"), t("notes.col_lien")];

/** Split value off a note to a member, or transfer the whole note; the amount is checked against the note's value. */
async function moveCard(held, ctx) {
  const free = held.filter((n) => !n.lienholder_id);
  if (!free.length) return card(t("move.title"), h("p", { class: "muted" }, t("move.none")));
  const noteSelect = h("select", { name: "note", id: "move-note", required: true }, free.map((n) => h("option", { value: n.id }, t("move.note_option", { note: t("note.name", { id: n.id }), value: money(n.value, n.currency) }))));
  const action = h("select", { name: "action", id: "move-action" }, h("option", { value: "split" }, t("move.split_part")), h("option", { value: "transfer" }, t("move.transfer_whole")));
  const to = await memberPicker(ctx.me, { name: "to" });
  to.id = "move-to";
  const amount = h("input", { name: "amount", id: "move-amount", inputmode: "decimal", autocomplete: "off", placeholder: t("move.amount_placeholder") });
  const status = statusLine();
  status.id = "move-status";
  const submit = h("button", { type: "submit", id: "move-submit" }, t("move.split"));
  const selected = () => free.find((n) => String(n.id) === noteSelect.value);
  const syncAction = () => {
    const split = action.value === "split";
    amount.disabled = !split;
    submit.textContent = split ? t("move.split") : t("move.transfer");
  };
  action.addEventListener("change", syncAction);
  const validate = () => {
    if (action.value !== "split") return null;
    const note = selected();
    const minor = toMinor(amount.value);
    if (minor === null || minor === 0n) return t("move.error_amount");
    if (minor > toMinor(note.value)) return t("move.error_too_much", { amount: money(fromMinor(minor)), id: note.id, value: money(note.value) });
    if (minor === toMinor(note.value)) return t("move.error_whole", { transfer: t("move.transfer_whole") });
    return null;
  };
  amount.addEventListener("input", () => amount.setAttribute("aria-invalid", validate() && amount.value ? "true" : "false"));
  const form = h(
    "form",
    { class: "form", id: "move-form" },
    field(t("move.note"), noteSelect),
    field(t("move.action"), action),
    field(t("move.to"), to),
    field(t("move.amount"), amount, t("move.amount_hint")),
    submit,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = validate();
    if (problem) {
      amount.setAttribute("aria-invalid", "true");
      setStatus(status, "error", problem);
      amount.focus();
      return;
    }
    if (!to.value) {
      setStatus(status, "error", t("move.error_to"));
      to.focus();
      return;
    }
    const note = selected();
    const done = await act(submit, status, action.value === "split" ? t("move.splitting") : t("move.transferring"), async () => {
      if (action.value === "split") {
        const result = await api(`/v1/notes/${note.id}/split`, { method: "POST", body: { to: Number(to.value), value: normaliseAmount(amount.value) } });
        return t("move.split_done", { id: result.note.id, value: money(result.note.value), new_id: result.new_note.id, new_value: money(result.new_note.value), holder: memberName(result.new_note.holder_id, result.new_note.holder_name) });
      }
      const result = await api(`/v1/notes/${note.id}/transfer`, { method: "POST", body: { to: Number(to.value) } });
      const moved = result.note ?? result;
      return t("move.transfer_done", { id: moved.id, value: money(moved.value), holder: memberName(moved.holder_id, moved.holder_name) });
    });
    if (done) await refreshKeeping(ctx, status);
  });
  syncAction();
  return card(t("move.title"), form);
}

const MAX_PAYMENTS = 100; // the API's and the contract's limit for one bulk payment

/** One payment a line, "member id, amount" (a comma, semicolon, tab or space after the id: pasted from a
 * spreadsheet). Returns { payments, error }: the error names the first line that is not one. */
export function parsePayments(text) {
  const payments = [];
  const lines = String(text ?? "").split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (!line.trim()) continue;
    const match = /^\s*(\d+)\s*[,;\t ]\s*(\S.*)$/.exec(line);
    const minor = match ? toMinor(match[2]) : null;
    if (!match || minor === null || minor === 0n) return { payments, error: t("pay.error_line", { line: index + 1, text: line.trim() }) };
    payments.push({ to: Number(match[1]), value: fromMinor(minor) });
  }
  return { payments, error: null };
}

/** Bulk payment: new notes for up to 100 members out of one note, in one transaction; all are made or none. */
function payCard(held, ctx) {
  const free = held.filter((n) => !n.lienholder_id);
  if (!free.length) return card(t("pay.title"), h("p", { class: "muted" }, t("move.none")));
  const noteSelect = h("select", { name: "note", id: "pay-note", required: true }, free.map((n) => h("option", { value: n.id }, t("move.note_option", { note: t("note.name", { id: n.id }), value: money(n.value, n.currency) }))));
  const lines = h("textarea", { name: "payments", id: "pay-lines", rows: 8, spellcheck: "false", placeholder: t("pay.lines_placeholder") });
  const summary = h("p", { class: "muted", id: "pay-summary", "aria-live": "polite" }, t("pay.summary", { count: 0, total: money("0.00") }));
  const status = statusLine();
  status.id = "pay-status";
  const submit = h("button", { type: "submit", id: "pay-submit" }, t("pay.submit"));
  const selected = () => free.find((n) => String(n.id) === noteSelect.value);
  const check = () => {
    const { payments, error } = parsePayments(lines.value);
    const total = payments.reduce((acc, p) => acc + toMinor(p.value), 0n);
    summary.textContent = t("pay.summary", { count: payments.length, total: money(fromMinor(total)) });
    if (error) return { payments, error };
    const note = selected();
    if (!payments.length) return { payments, error: t("pay.error_none") };
    if (payments.length > MAX_PAYMENTS) return { payments, error: t("pay.error_many", { count: payments.length, max: MAX_PAYMENTS }) };
    if (total > toMinor(note.value)) return { payments, error: t("move.error_too_much", { amount: money(fromMinor(total)), id: note.id, value: money(note.value) }) };
    return { payments, error: null };
  };
  lines.addEventListener("input", () => lines.setAttribute("aria-invalid", check().error && lines.value.trim() ? "true" : "false"));
  noteSelect.addEventListener("change", check);
  const form = h(
    "form",
    { class: "form", id: "pay-form" },
    field(t("move.note"), noteSelect),
    field(t("pay.lines"), lines, t("pay.lines_hint", { max: MAX_PAYMENTS })),
    summary,
    submit,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { payments, error } = check();
    if (error) {
      lines.setAttribute("aria-invalid", "true");
      setStatus(status, "error", error);
      lines.focus();
      return;
    }
    const note = selected();
    const done = await act(submit, status, t("pay.paying", { count: payments.length }), async () => {
      const result = await api(`/v1/notes/${note.id}/payments`, { method: "POST", body: { payments } });
      const total = result.new_notes.reduce((acc, n) => acc + toMinor(n.value), 0n);
      return t("pay.done", { count: result.new_notes.length, total: money(fromMinor(total)), id: result.note.id, value: money(result.note.live ? result.note.value : "0.00") });
    });
    if (done) await refreshKeeping(ctx, status);
  });
  return card(t("pay.title"), form);
}

/** Re-renders the view from fresh reads and carries the outcome line over. */
export async function refreshKeeping(ctx, status) {
  const text = status.textContent;
  const kind = status.className.replace("status", "").trim();
  const id = status.id;
  await ctx.refresh();
  const again = id ? document.getElementById(id) : null;
  if (again) setStatus(again, kind, text);
}

function offersCard(offers, held, balance, ctx) {
  const byNote = new Map(held.map((n) => [n.id, n]));
  const status = statusLine();
  status.id = "offer-status";
  const dialog = h("dialog", { id: "offer-dialog", "aria-labelledby": "offer-dialog-title" });
  const review = async (offer, button) => {
    let fresh;
    try {
      fresh = await api(`/v1/financing/offers/${offer.id}`);
    } catch (error) {
      setStatus(status, "error", error.message);
      return;
    }
    const note = byNote.get(fresh.note_id);
    const discount = fresh.price ? fromMinor(toMinor(fresh.value) - toMinor(fresh.price)) : null;
    const days = daysUntil(note?.maturity);
    const confirm = h("button", { type: "button", id: "offer-confirm" }, t("sell.confirm"));
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, t("sell.cancel"));
    dialog.replaceChildren(
      h("h3", { id: "offer-dialog-title" }, t("sell.question", { value: money(fresh.value), id: fresh.note_id, bank: memberName(fresh.financier_id, fresh.financier_name) })),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("sell.receive_today")), h("dd", { id: "offer-price" }, money(fresh.price)),
        h("dt", {}, t("sell.discount")), h("dd", { id: "offer-discount" }, t("sell.discount_value", { amount: money(discount), rate: (fresh.rate_bps / 100).toFixed(2) })),
        h("dt", {}, t("sell.recourse")), h("dd", { id: "offer-recourse" }, fresh.recourse ? t("sell.with_recourse") : t("sell.without_recourse")),
        h("dt", {}, t("sell.days")), h("dd", { id: "offer-days" }, days === null ? "—" : t("sell.days_value", { days, date: date(note?.maturity) })),
        h("dt", {}, t("sell.expires")), h("dd", {}, date(fresh.expires_at)),
      ),
      h("div", { class: "actions" }, confirm, cancel),
    );
    confirm.addEventListener("click", async () => {
      dialog.close();
      const before = balance.balance;
      const done = await act(button, status, t("sell.selling", { bank: memberName(fresh.financier_id, fresh.financier_name) }), async () => {
        await api(`/v1/financing/offers/${fresh.id}/accept`, { method: "POST" });
        const after = await api("/v1/cash/balance");
        return t("sell.sold", { before: money(before), after: money(after.balance) });
      });
      if (done) await refreshKeeping(ctx, status);
    });
    dialog.showModal();
    confirm.focus();
  };
  const rows = table(
    t("offers.open_caption"),
    [
      { label: t("col.offer"), cell: (o) => t("offer.name", { id: o.id }) },
      { label: t("col.financing_request"), cell: (o) => (o.request_id ? t("request.name", { id: o.request_id }) : "—") },
      { label: t("col.bank"), cell: (o) => memberName(o.financier_id, o.financier_name) },
      { label: t("col.note"), cell: (o) => t("note.name", { id: o.note_id }) },
      { label: t("col.value"), num: true, cell: (o) => money(o.value, o.currency), csv: (o) => o.value },
      { label: t("col.price_now"), num: true, cell: (o) => money(o.price, o.currency), csv: (o) => o.price },
      { label: t("col.recourse"), cell: (o) => (o.recourse ? t("yes") : t("no")) },
      { label: t("col.days_to_maturity"), num: true, cell: (o) => String(daysUntil(byNote.get(o.note_id)?.maturity) ?? "—") },
      {
        label: t("col.action"),
        csv: false,
        cell: (o) => {
          const button = h("button", { type: "button", "data-offer-id": o.id, "aria-label": t("offers.review_label", { id: o.id }) }, t("offers.review"));
          button.addEventListener("click", () => review(o, button));
          return button;
        },
      },
    ],
    offers,
    { empty: t("offers.none_open"), id: "open-offers", rowAttrs: (o) => ({ "data-offer-id": o.id, "data-request-id": o.request_id ?? "" }) },
  );
  return card(t("offers.title"), rows, status, dialog);
}

/** Days from today to an ISO date (yyyy-mm-dd) in this browser's calendar. */
function isoInDays(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Request financing: ask one or more banks for offers on a note I hold, all of it or part (POST /v1/financing/requests);
 * my requests with their state and the offers made in answer (accepted in "Financing offers" below); withdraw one.
 */
async function requestCard(held, requests, ctx) {
  const status = statusLine();
  status.id = "request-status";
  const free = held.filter((n) => !n.lienholder_id);
  const members = await cachedMembers();
  const banks = members.filter((m) => m.id !== ctx.me.id && m.status === "active" && m.roles.includes("financier"));
  const mine = table(
    t("request.mine"),
    [
      { label: t("col.financing_request"), cell: (r) => t("request.name", { id: r.id }) },
      { label: t("col.note"), cell: (r) => t("note.name", { id: r.note_id }) },
      { label: t("col.value"), num: true, cell: (r) => money(r.value, r.currency), csv: (r) => r.value },
      { label: t("col.banks_asked"), cell: (r) => r.financier_ids.map((id) => memberName(id)).join(t("list.separator")) },
      { label: t("col.offers"), num: true, cell: (r) => String(r.offers.length) },
      { label: t("col.expires"), cell: (r) => date(r.expires_at) },
      { label: t("col.state"), cell: (r) => badge(tv("status.request", r.status), r.status === "accepted" ? "good" : r.status === "offered" ? "warn" : "") },
      {
        label: t("col.action"),
        csv: false,
        cell: (r) => {
          if (!["open", "offered"].includes(r.status)) return "—";
          const button = h("button", { type: "button", class: "secondary", "data-withdraw-request": r.id, "aria-label": t("request.withdraw_label", { id: r.id }) }, t("request.withdraw"));
          button.addEventListener("click", async () => {
            const done = await act(button, status, t("request.withdrawing", { id: r.id }), async () => {
              const out = await api(`/v1/financing/requests/${r.id}/withdraw`, { method: "POST" });
              return t("request.withdrawn", { id: out.id });
            }, { onChain: false });
            if (done) await refreshKeeping(ctx, status);
          });
          return button;
        },
      },
    ],
    requests,
    { empty: t("request.none"), id: "my-requests", rowAttrs: (r) => ({ "data-request-id": r.id, "data-request-state": r.status }) },
  );
  if (!free.length || !banks.length) {
    return card(t("request.title"), h("p", { class: "muted" }, free.length ? t("request.no_banks") : t("request.no_notes")), mine, status);
  }
  const noteSelect = h("select", { id: "request-note", required: true }, free.map((n) => h("option", { value: n.id }, t("move.note_option", { note: t("note.name", { id: n.id }), value: money(n.value, n.currency) }))));
  const value = h("input", { id: "request-value", inputmode: "decimal", autocomplete: "off", required: true });
  const selected = () => free.find((n) => String(n.id) === noteSelect.value);
  const syncNote = () => {
    value.value = selected().value;
    const maturity = (selected().maturity ?? "").slice(0, 10);
    expires.max = maturity || "";
    if (maturity && expires.value > maturity) expires.value = maturity;
  };
  const bankBoxes = banks.map((m) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "bank", value: m.id, "data-bank-id": m.id }), " ", memberName(m.id)));
  const bankGroup = h("fieldset", { id: "request-banks", class: "checks" }, h("legend", {}, t("request.banks")), bankBoxes);
  const rate = h("input", { id: "request-rate", type: "number", min: 0, max: 10000, step: 1, autocomplete: "off", placeholder: t("request.rate_placeholder") });
  const recourse = h("select", { id: "request-recourse" }, h("option", { value: "" }, t("request.recourse_either")), h("option", { value: "false" }, t("sell.without_recourse")), h("option", { value: "true" }, t("request.recourse_ok")));
  const expires = h("input", { id: "request-expires", type: "date", required: true, min: isoInDays(1), value: isoInDays(14) });
  const submit = h("button", { type: "submit", id: "request-submit" }, t("request.submit"));
  noteSelect.addEventListener("change", syncNote);
  syncNote();
  const form = h(
    "form",
    { class: "form", id: "request-form" },
    field(t("move.note"), noteSelect),
    field(t("request.value"), value, t("request.value_hint")),
    bankGroup,
    field(t("request.rate"), rate, t("bank.rate_hint")),
    field(t("col.recourse"), recourse),
    field(t("request.expires"), expires),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const note = selected();
    const minor = toMinor(value.value);
    if (minor === null || minor === 0n || minor > toMinor(note.value)) {
      value.setAttribute("aria-invalid", "true");
      setStatus(status, "error", t("request.error_value", { id: note.id, value: money(note.value) }));
      value.focus();
      return;
    }
    value.setAttribute("aria-invalid", "false");
    const chosen = bankBoxes.map((l) => l.querySelector("input")).filter((box) => box.checked).map((box) => Number(box.value));
    if (!chosen.length) {
      setStatus(status, "error", t("request.error_banks"));
      bankBoxes[0].querySelector("input").focus();
      return;
    }
    const body = { note_id: note.id, value: normaliseAmount(value.value), financier_ids: chosen, expires_at: expires.value };
    if (rate.value !== "") body.target_rate_bps = Number(rate.value);
    if (recourse.value !== "") body.recourse = recourse.value === "true";
    const done = await act(submit, status, t("request.sending"), async () => {
      const out = await api("/v1/financing/requests", { method: "POST", body });
      return t("request.sent", { id: out.id, value: money(out.value), note: out.note_id, count: out.financier_ids.length });
    }, { onChain: false });
    if (done) await refreshKeeping(ctx, status);
  });
  return card(t("request.title"), h("p", { class: "muted" }, t("request.intro")), form, status, mine);
}

async function ordersCard(orders, ctx) {
  const me = ctx.me;
  const status = statusLine();
  status.id = "order-status";
  const mine = orders.filter((o) => o.supplier_id === me.id || o.holder_id === me.id);
  const financiers = await memberPicker(me, { role: "financier", name: "financier" });
  financiers.id = "pledge-financier";
  const run = (button, pending, call) =>
    act(button, status, pending, call).then((done) => (done ? refreshKeeping(ctx, status) : undefined));
  const actions = (o) => {
    const buttons = [];
    if (o.status === "confirmed" && o.supplier_id === me.id) {
      const b = h("button", { type: "button", "aria-label": t("orders.deliver_label", { id: o.id }) }, t("orders.deliver"));
      b.addEventListener("click", () => run(b, t("orders.delivering", { id: o.id }), async () => {
        const out = await api(`/v1/orders/${o.id}/deliver`, { method: "POST" });
        return t("orders.now", { id: out.id, status: tv("status.order", out.status) });
      }));
      buttons.push(b);
    }
    if (["confirmed", "delivered"].includes(o.status) && o.holder_id === me.id && !o.lienholder_id) {
      const b = h("button", { type: "button", class: "secondary", "aria-label": t("orders.pledge_label", { id: o.id }) }, t("orders.pledge"));
      b.addEventListener("click", () => {
        if (!financiers.value) {
          setStatus(status, "error", t("orders.error_bank"));
          financiers.focus();
          return;
        }
        run(b, t("orders.pledging", { id: o.id }), async () => {
          const out = await api(`/v1/orders/${o.id}/pledge`, { method: "POST", body: { financier_id: Number(financiers.value) } });
          return t("orders.pledged", { id: out.id, bank: memberName(out.lienholder_id, out.lienholder_name) });
        });
      });
      buttons.push(b);
    }
    return h("div", { class: "actions" }, buttons);
  };
  const list = table(
    t("orders.mine"),
    [
      { label: t("col.order"), cell: (o) => t("order.name", { id: o.id }) },
      { label: t("col.buyer"), cell: (o) => memberName(o.buyer_id, o.buyer_name) },
      { label: t("col.amount"), num: true, cell: (o) => money(o.amount, o.currency), csv: (o) => o.amount },
      { label: t("col.due"), cell: (o) => date(o.due_date) },
      { label: t("col.state"), cell: (o) => tv("status.order", o.status) },
      { label: t("col.pledged_to"), cell: (o) => (o.lienholder_id ? memberName(o.lienholder_id, o.lienholder_name) : "—") },
      { label: t("col.receivable"), cell: (o) => (o.receivable_id ? t("receivable.name", { id: o.receivable_id }) : "—") },
      { label: t("col.actions"), cell: actions, csv: false },
    ],
    mine,
    { empty: t("orders.none") },
  );
  return card(
    t("orders.mine"),
    list,
    h("div", { class: "form" }, field(t("orders.pledge_bank"), financiers)),
    status,
    await proposeForm(ctx, status),
  );
}

async function proposeForm(ctx, status) {
  const buyer = await memberPicker(ctx.me, { role: "core_enterprise", name: "buyer" });
  buyer.id = "order-buyer";
  const amount = h("input", { id: "order-amount", inputmode: "decimal", required: true, autocomplete: "off" });
  const due = h("input", { id: "order-due", type: "date", required: true });
  const doc = h("input", { id: "order-doc", required: true, autocomplete: "off", placeholder: t("propose.doc_placeholder") });
  const submit = h("button", { type: "submit" }, t("propose.submit"));
  const form = h("form", { class: "form", id: "propose-form" }, h("h4", { class: "wide" }, t("propose.title")), field(t("col.buyer"), buyer), field(t("col.amount"), amount), field(t("propose.due"), due), field(t("propose.doc"), doc, t("propose.doc_hint")), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = normaliseAmount(amount.value);
    if (!value || value === "0.00") {
      setStatus(status, "error", t("propose.error_amount"));
      amount.focus();
      return;
    }
    const done = await act(submit, status, t("propose.proposing"), async () => {
      const out = await api("/v1/orders", { method: "POST", body: { buyer_id: Number(buyer.value), amount: value, due_date: due.value, document_hash: await documentHash(doc.value) } });
      return t("propose.done", { id: out.id, buyer: memberName(out.buyer_id, out.buyer_name), status: tv("status.order", out.status) });
    });
    if (done) await refreshKeeping(ctx, status);
  });
  return form;
}
