// Bank: offers (create, see accepted), loans, my book by obligor with concentration, and note verification.
import { all, api } from "../api.js";
import { date, fromMinor, money, normaliseAmount, percent, toMinor } from "../format.js";
import { act, badge, card, field, h, setStatus, statusLine, table } from "../ui.js";
import { cashCard, refreshKeeping } from "./supplier.js";
import { verifyCard } from "./verify.js";

export async function render(root, ctx) {
  const me = ctx.me;
  const [balance, offers, loans, notes, orders] = await Promise.all([
    api("/v1/cash/balance"),
    all("/v1/financing/offers"),
    all("/v1/financing/loans"),
    all("/v1/notes"),
    all("/v1/orders"),
  ]);
  root.append(
    cashCard(balance),
    verifyCard(),
    offersCard(offers.filter((o) => o.financier_id === me.id), ctx),
    bookCard(notes.filter((n) => n.holder_id === me.id)),
    await loansCard(loans.filter((l) => l.financier_id === me.id), orders.filter((o) => o.lienholder_id === me.id), ctx),
  );
}

function offersCard(offers, ctx) {
  const status = statusLine();
  status.id = "make-offer-status";
  const note = h("input", { id: "offer-note", type: "number", min: 1, required: true });
  const value = h("input", { id: "offer-value", inputmode: "decimal", required: true, autocomplete: "off" });
  const rate = h("input", { id: "offer-rate", type: "number", min: 0, max: 10000, step: 1, value: 700, required: true });
  const recourse = h("input", { id: "offer-recourse", type: "checkbox" });
  const expires = h("input", { id: "offer-expires", type: "date", required: true, value: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10) });
  const submit = h("button", { type: "submit", id: "offer-submit" }, "Make offer");
  const form = h("form", { class: "form", id: "offer-form" }, field("Note id", note), field("Value to buy", value), field("Discount rate (basis points a year)", rate, "700 = 7 %"), field("With recourse", recourse), field("Expires on", expires), submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = normaliseAmount(value.value);
    if (!amount || amount === "0.00") {
      setStatus(status, "error", "Enter the value to buy, such as 100,000.00.");
      value.focus();
      return;
    }
    const done = await act(submit, status, "Making the offer", async () => {
      const body = { note_id: Number(note.value), value: amount, rate_bps: Number(rate.value), recourse: recourse.checked, expires_at: expires.value };
      const out = await api("/v1/financing/offers", { method: "POST", body });
      return `Offer ${out.id} made on note ${out.note_id}: ${money(out.value)} for ${money(out.price)} today (${out.status}).`;
    });
    if (done) await refreshKeeping(ctx, status);
  });
  const list = table(
    "Offers I made",
    [
      { label: "Offer", cell: (o) => `Offer ${o.id}` },
      { label: "Note", cell: (o) => `Note ${o.note_id}` },
      { label: "Holder", cell: (o) => (typeof o.holder_id === "string" ? o.holder_id : o.holder_id ? `Member ${o.holder_id}` : "—") },
      { label: "Value", num: true, cell: (o) => money(o.value, o.currency) },
      { label: "Rate", num: true, cell: (o) => `${(o.rate_bps / 100).toFixed(2)} %` },
      { label: "Recourse", cell: (o) => (o.recourse ? "yes" : "no") },
      { label: "Expires", cell: (o) => date(o.expires_at) },
      { label: "State", cell: (o) => badge(o.status === "accepted" ? `accepted (purchase ${o.purchase_id})` : o.status, o.status === "accepted" ? "good" : "") },
    ],
    offers,
    { empty: "none yet.", rowAttrs: (o) => ({ "data-offer-state": o.status }) },
  );
  return card("Financing offers", form, list);
}

/** Notes I hold (bought), grouped by obligor, with each obligor's share of the book. */
function bookCard(held) {
  const byObligor = new Map();
  for (const n of held) byObligor.set(n.obligor_id, (byObligor.get(n.obligor_id) ?? 0n) + toMinor(n.value));
  const total = [...byObligor.values()].reduce((a, b) => a + b, 0n);
  const rows = [...byObligor].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).map(([obligor, minor]) => ({ obligor, minor, count: held.filter((n) => n.obligor_id === obligor).length }));
  return card(
    "My book by obligor",
    table(
      "Notes I hold, by obligor",
      [
        { label: "Obligor", cell: (r) => `Member ${r.obligor}` },
        { label: "Notes", num: true, cell: (r) => String(r.count) },
        { label: "Value", num: true, cell: (r) => money(fromMinor(r.minor)) },
        { label: "Concentration", num: true, cell: (r) => percent(Number(r.minor), Number(total)) },
      ],
      rows,
      { empty: "no note bought yet." },
    ),
    rows.length ? h("p", {}, "Book total: ", h("strong", {}, money(fromMinor(total)))) : null,
  );
}

async function loansCard(loans, pledged, ctx) {
  const status = statusLine();
  status.id = "loan-status";
  const order = h("select", { id: "loan-order", required: true }, h("option", { value: "" }, "Choose an order pledged to me…"), pledged.map((o) => h("option", { value: o.id }, `Order ${o.id}: ${money(o.amount)} from member ${o.holder_id}`)));
  const principal = h("input", { id: "loan-principal", inputmode: "decimal", required: true, autocomplete: "off" });
  const rate = h("input", { id: "loan-rate", type: "number", min: 0, max: 10000, value: 800, required: true });
  const due = h("input", { id: "loan-due", type: "date", required: true });
  const submit = h("button", { type: "submit" }, "Lend");
  const form = h("form", { class: "form" }, field("Order", order), field("Principal", principal), field("Rate (basis points a year)", rate), field("Due date", due), submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const amount = normaliseAmount(principal.value);
    if (!order.value || !amount || amount === "0.00") {
      setStatus(status, "error", "Choose a pledged order and enter the principal.");
      return;
    }
    const done = await act(submit, status, `Lending against order ${order.value}`, async () => {
      const out = await api("/v1/financing/loans", { method: "POST", body: { order_id: Number(order.value), principal: amount, rate_bps: Number(rate.value), due_date: due.value } });
      return `Loan ${out.id} opened: ${money(out.principal)} to member ${out.borrower_id}, due ${date(out.due_date)}.`;
    });
    if (done) await refreshKeeping(ctx, status);
  });
  return card(
    "Loans",
    table(
      "Loans I made",
      [
        { label: "Loan", cell: (l) => `Loan ${l.id}` },
        { label: "Order", cell: (l) => `Order ${l.order_id}` },
        { label: "Borrower", cell: (l) => `Member ${l.borrower_id}` },
        { label: "Principal", num: true, cell: (l) => money(l.principal, l.currency) },
        { label: "Owed now", num: true, cell: (l) => money(l.amount_owed, l.currency) },
        { label: "Due", cell: (l) => date(l.due_date) },
        { label: "State", cell: (l) => l.status },
      ],
      loans,
      { empty: "none yet." },
    ),
    pledged.length ? form : h("p", { class: "muted" }, "No order is pledged to you; a supplier pledges one from its view."),
  );
}
