// Bank: offers (create, see accepted), loans, my book by obligor with concentration, and note verification.
import { all, api } from "../api.js";
import { chartBox } from "../charts.js";
import { date, fromMinor, money, normaliseAmount, percent, toMinor } from "../format.js";
import { t, tv } from "../i18n.js";
import { act, badge, card, field, h, memberName, setStatus, statusLine, table } from "../ui.js";
import { cashCard, refreshKeeping } from "./supplier.js";
import { verifyCard } from "./verify.js";

export async function render(root, ctx) {
  const me = ctx.me;
  const [balance, offers, loans, notes, orders, purchases, requests] = await Promise.all([
    api("/v1/cash/balance"),
    all("/v1/financing/offers"),
    all("/v1/financing/loans"),
    all("/v1/notes"),
    all("/v1/orders"),
    all("/v1/financing/purchases"),
    all("/v1/financing/requests"),
  ]);
  const held = notes.filter((n) => n.holder_id === me.id);
  // each obligor's financing capacity from its on-chain history (GET /v1/members/{id}/credit; docs/credit.md)
  const obligors = [...new Set(held.map((n) => n.obligor_id))];
  const credit = new Map(
    await Promise.all(obligors.map((id) => api(`/v1/members/${id}/credit`).then((c) => [id, c], () => [id, null]))),
  );
  const book = bookCard(held, credit);
  root.append(
    cashCard(balance),
    book.section,
    requestsCard(requests.filter((r) => r.requester_id !== me.id && ["open", "offered"].includes(r.status)), ctx),
    verifyCard(),
    offersCard(offers.filter((o) => o.financier_id === me.id), ctx, new Map(purchases.map((p) => [p.id, p]))),
    await loansCard(loans.filter((l) => l.financier_id === me.id), orders.filter((o) => o.lienholder_id === me.id), ctx),
  );
  book.draw?.();
}

/** The requester as the API names it: a member, or (the visibility rules hide it) a pseudonym, labelled as such. */
function requesterCell(r) {
  if (typeof r.requester_id === "string") return h("span", {}, t("request.undisclosed"), " ", h("code", {}, r.requester_id));
  return memberName(r.requester_id);
}

/**
 * Financing requests that ask me and still take offers: what I need to price them (value, the note's value now, the
 * obligor, maturity), and "Make offer", which answers with a factoring offer on the note
 * (POST /v1/financing/requests/{id}/offers).
 */
function requestsCard(requests, ctx) {
  const status = statusLine();
  status.id = "answer-status";
  const dialog = h("dialog", { id: "answer-dialog", "aria-labelledby": "answer-dialog-title" });
  const open = (r, button) => {
    const mine = r.offers.filter((o) => o.status === "open");
    const value = h("input", { id: "answer-value", inputmode: "decimal", autocomplete: "off", required: true, value: r.value });
    const rate = h("input", { id: "answer-rate", type: "number", min: 0, max: 10000, step: 1, required: true, value: r.target_rate_bps ?? 700 });
    const recourse = h("input", { id: "answer-recourse", type: "checkbox", checked: r.recourse === true });
    const maturity = (r.maturity ?? "").slice(0, 10);
    const expires = h("input", { id: "answer-expires", type: "date", required: true, max: maturity || null, value: r.expires_at.slice(0, 10) });
    const submit = h("button", { type: "submit", id: "answer-submit" }, t("bank.make_offer"));
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, t("sell.cancel"));
    const form = h(
      "form",
      { class: "form", id: "answer-form", method: "dialog" },
      field(t("bank.value_to_buy"), value, t("answer.value_hint", { value: money(r.value) })),
      field(t("bank.rate"), rate, t("bank.rate_hint")),
      field(t("bank.with_recourse"), recourse),
      field(t("bank.expires_on"), expires),
      h("div", { class: "actions wide" }, submit, cancel),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const amount = normaliseAmount(value.value);
      if (!amount || amount === "0.00" || toMinor(amount) > toMinor(r.value)) {
        value.setAttribute("aria-invalid", "true");
        value.focus();
        return;
      }
      dialog.close();
      const done = await act(button, status, t("answer.sending", { id: r.id }), async () => {
        const body = { value: amount, rate_bps: Number(rate.value), recourse: recourse.checked, expires_at: expires.value };
        const out = await api(`/v1/financing/requests/${r.id}/offers`, { method: "POST", body });
        return t("answer.sent", { id: out.id, request: r.id, value: money(out.value), price: money(out.price) });
      });
      if (done) await refreshKeeping(ctx, status);
    });
    dialog.replaceChildren(
      h("h3", { id: "answer-dialog-title" }, t("answer.question", { id: r.id, value: money(r.value), note: r.note_id })),
      ...(mine.length ? [h("p", { class: "muted", id: "answer-already" }, t("answer.already", { count: mine.length }))] : []),
      form,
    );
    dialog.showModal();
    rate.focus();
  };
  const list = table(
    t("requests.caption"),
    [
      { label: t("col.financing_request"), cell: (r) => t("request.name", { id: r.id }) },
      { label: t("col.requester"), cell: requesterCell, csv: (r) => String(r.requester_id) },
      { label: t("col.note"), cell: (r) => t("note.name", { id: r.note_id }) },
      { label: t("notes.col_obligor"), cell: (r) => (r.obligor_id ? memberName(r.obligor_id) : "—") },
      { label: t("notes.col_maturity"), cell: (r) => date(r.maturity) },
      { label: t("col.value"), num: true, cell: (r) => money(r.value, r.currency), csv: (r) => r.value },
      { label: t("col.note_value"), num: true, cell: (r) => money(r.note_value, r.currency), csv: (r) => r.note_value },
      { label: t("col.target_rate"), num: true, cell: (r) => (r.target_rate_bps === null ? "—" : `${(r.target_rate_bps / 100).toFixed(2)} %`) },
      { label: t("col.recourse"), cell: (r) => (r.recourse === null ? t("request.recourse_either") : r.recourse ? t("request.recourse_ok") : t("sell.without_recourse")) },
      { label: t("col.expires"), cell: (r) => date(r.expires_at) },
      { label: t("col.state"), cell: (r) => tv("status.request", r.status) },
      {
        label: t("col.action"),
        csv: false,
        cell: (r) => {
          const button = h("button", { type: "button", "data-answer-request": r.id, "aria-label": t("answer.label", { id: r.id }) }, t("bank.make_offer"));
          button.addEventListener("click", () => open(r, button));
          return button;
        },
      },
    ],
    requests,
    { empty: t("requests.none"), id: "open-requests", rowAttrs: (r) => ({ "data-request-id": r.id }) },
  );
  return card(t("requests.title"), list, status, dialog);
}

function offersCard(offers, ctx, purchases) {
  // the seller: who sold the note (from its purchase) once accepted; the note's holder while the offer is open
  const seller = (o) => (o.purchase_id ? purchases.get(o.purchase_id)?.seller_id : o.holder_id);
  const sellerName = (o) => (o.purchase_id ? purchases.get(o.purchase_id)?.seller_name : o.holder_name);
  const status = statusLine();
  status.id = "make-offer-status";
  const note = h("input", { id: "offer-note", type: "number", min: 1, required: true });
  const value = h("input", { id: "offer-value", inputmode: "decimal", required: true, autocomplete: "off" });
  const rate = h("input", { id: "offer-rate", type: "number", min: 0, max: 10000, step: 1, value: 700, required: true });
  const recourse = h("input", { id: "offer-recourse", type: "checkbox" });
  const expires = h("input", { id: "offer-expires", type: "date", required: true, value: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) });
  const submit = h("button", { type: "submit", id: "offer-submit" }, t("bank.make_offer"));
  const form = h("form", { class: "form", id: "offer-form" }, field(t("bank.note_id"), note), field(t("bank.value_to_buy"), value), field(t("bank.rate"), rate, t("bank.rate_hint")), field(t("bank.with_recourse"), recourse), field(t("bank.expires_on"), expires), submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = normaliseAmount(value.value);
    if (!amount || amount === "0.00") {
      setStatus(status, "error", t("bank.error_value"));
      value.focus();
      return;
    }
    const done = await act(submit, status, t("bank.making_offer"), async () => {
      const body = { note_id: Number(note.value), value: amount, rate_bps: Number(rate.value), recourse: recourse.checked, expires_at: expires.value };
      const out = await api("/v1/financing/offers", { method: "POST", body });
      return t("bank.offer_made", { id: out.id, note: out.note_id, value: money(out.value), price: money(out.price), status: tv("status.offer", out.status) });
    });
    if (done) await refreshKeeping(ctx, status);
  });
  const list = table(
    t("bank.offers_made"),
    [
      { label: t("col.offer"), cell: (o) => t("offer.name", { id: o.id }) },
      { label: t("col.note"), cell: (o) => t("note.name", { id: o.note_id }) },
      { label: t("col.seller"), cell: (o) => (seller(o) ? memberName(seller(o), sellerName(o)) : "—") },
      { label: t("col.value"), num: true, cell: (o) => money(o.value, o.currency), csv: (o) => o.value },
      { label: t("col.rate"), num: true, cell: (o) => `${(o.rate_bps / 100).toFixed(2)} %` },
      { label: t("col.recourse"), cell: (o) => (o.recourse ? t("yes") : t("no")) },
      { label: t("col.expires"), cell: (o) => date(o.expires_at) },
      { label: t("col.state"), cell: (o) => badge(o.status === "accepted" ? t("bank.accepted_purchase", { id: o.purchase_id }) : tv("status.offer", o.status), o.status === "accepted" ? "good" : "") },
    ],
    offers,
    { empty: t("bank.none_yet"), rowAttrs: (o) => ({ "data-offer-state": o.status, "data-offer-id": o.id }) },
  );
  return card(t("offers.title"), form, list);
}

/** Notes I hold (bought), grouped by obligor, with each obligor's share of the book. */
function bookCard(held, credit) {
  const byObligor = new Map();
  for (const n of held) byObligor.set(n.obligor_id, (byObligor.get(n.obligor_id) ?? 0n) + toMinor(n.value));
  const total = [...byObligor.values()].reduce((a, b) => a + b, 0n);
  const rows = [...byObligor].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).map(([obligor, minor]) => ({ obligor, minor, count: held.filter((n) => n.obligor_id === obligor).length }));
  const chart = rows.length
    ? chartBox("bank-concentration-chart", t("book.chart_title"), {
        title: { text: t("book.chart_title"), left: "center", textStyle: { fontSize: 14 } },
        tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${money(Number(p.value).toFixed(2))} (${percent(p.percent, 100)})` },
        legend: { bottom: 0, type: "scroll" },
        series: [
          {
            name: t("book.chart_title"),
            type: "pie",
            radius: ["35%", "65%"],
            label: { formatter: (p) => `${p.name}\n${percent(p.percent, 100)}` },
            data: rows.map((r) => ({ name: memberName(r.obligor), value: Number(fromMinor(r.minor)), obligor: r.obligor })),
          },
        ],
      })
    : null;
  const section = card(
    t("book.title"),
    chart?.box,
    table(
      t("book.caption"),
      [
        { label: t("notes.col_obligor"), cell: (r) => memberName(r.obligor) },
        { label: t("col.notes"), num: true, cell: (r) => String(r.count) },
        { label: t("col.value"), num: true, cell: (r) => money(fromMinor(r.minor)), csv: (r) => fromMinor(r.minor) },
        { label: t("col.concentration"), num: true, cell: (r) => percent(Number(r.minor), Number(total)) },
        {
          label: t("col.capacity"),
          num: true,
          cell: (r) => (credit.get(r.obligor) ? money(credit.get(r.obligor).capacity, credit.get(r.obligor).currency) : "—"),
          csv: (r) => credit.get(r.obligor)?.capacity ?? "",
        },
      ],
      rows,
      { empty: t("book.none"), id: "bank-book", rowAttrs: (r) => ({ "data-obligor-id": r.obligor }) },
    ),
    rows.length ? h("p", {}, t("book.total"), h("strong", { id: "book-total" }, money(fromMinor(total)))) : null,
  );
  return { section, draw: chart?.draw };
}

async function loansCard(loans, pledged, ctx) {
  const status = statusLine();
  status.id = "loan-status";
  const order = h("select", { id: "loan-order", required: true }, h("option", { value: "" }, t("loans.choose_order")), pledged.map((o) => h("option", { value: o.id }, t("loans.order_option", { id: o.id, amount: money(o.amount), name: memberName(o.holder_id, o.holder_name) }))));
  const principal = h("input", { id: "loan-principal", inputmode: "decimal", required: true, autocomplete: "off" });
  const rate = h("input", { id: "loan-rate", type: "number", min: 0, max: 10000, value: 800, required: true });
  const due = h("input", { id: "loan-due", type: "date", required: true });
  const submit = h("button", { type: "submit" }, t("loans.lend"));
  const form = h("form", { class: "form" }, field(t("col.order"), order), field(t("col.principal"), principal), field(t("loans.rate"), rate), field(t("propose.due"), due), submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = normaliseAmount(principal.value);
    if (!order.value || !amount || amount === "0.00") {
      setStatus(status, "error", t("loans.error"));
      return;
    }
    const done = await act(submit, status, t("loans.lending", { id: order.value }), async () => {
      const out = await api("/v1/financing/loans", { method: "POST", body: { order_id: Number(order.value), principal: amount, rate_bps: Number(rate.value), due_date: due.value } });
      return t("loans.opened", { id: out.id, principal: money(out.principal), name: memberName(out.borrower_id, out.borrower_name), due: date(out.due_date) });
    });
    if (done) await refreshKeeping(ctx, status);
  });
  return card(
    t("loans.title"),
    table(
      t("loans.made"),
      [
        { label: t("col.loan"), cell: (l) => t("loan.name", { id: l.id }) },
        { label: t("col.order"), cell: (l) => t("order.name", { id: l.order_id }) },
        { label: t("col.borrower"), cell: (l) => memberName(l.borrower_id, l.borrower_name) },
        { label: t("col.principal"), num: true, cell: (l) => money(l.principal, l.currency), csv: (l) => l.principal },
        { label: t("col.owed_now"), num: true, cell: (l) => money(l.amount_owed, l.currency), csv: (l) => l.amount_owed },
        { label: t("col.due"), cell: (l) => date(l.due_date) },
        { label: t("col.state"), cell: (l) => tv("status.loan", l.status) },
      ],
      loans,
      { empty: t("bank.none_yet") },
    ),
    pledged.length ? form : h("p", { class: "muted" }, t("loans.none_pledged")),
  );
}
