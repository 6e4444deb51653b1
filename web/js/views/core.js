// Core enterprise: orders to confirm and deliveries to accept (issuing the receivable), payables calendar, funding.
import { all, api } from "../api.js";
import { date, documentHash, money, normaliseAmount } from "../format.js";
import { act, badge, card, field, h, setStatus, statusLine, table } from "../ui.js";
import { cashCard, refreshKeeping } from "./supplier.js";

export async function render(root, ctx) {
  const me = ctx.me;
  const [balance, orders, owed] = await Promise.all([
    api("/v1/cash/balance"),
    all("/v1/orders"),
    all("/v1/receivables", { role: "obligor" }),
  ]);
  const bought = orders.filter((o) => o.buyer_id === me.id);
  // every receivable I owe: issued from my orders or confirmed directly (POST /v1/receivables)
  const funding = await Promise.all(owed.map((r) => api(`/v1/settlement/receivables/${r.id}`)));
  root.append(cashCard(balance), ordersCard(bought, ctx), calendarCard(funding, ctx));
}

function ordersCard(bought, ctx) {
  const status = statusLine();
  status.id = "core-order-status";
  const proposed = bought.filter((o) => o.status === "proposed");
  const delivered = bought.filter((o) => o.status === "delivered");
  const confirmList = table(
    "Orders awaiting my confirmation",
    [
      { label: "Order", cell: (o) => `Order ${o.id}` },
      { label: "Supplier", cell: (o) => `Member ${o.supplier_id}` },
      { label: "Amount", num: true, cell: (o) => money(o.amount, o.currency) },
      { label: "Due", cell: (o) => date(o.due_date) },
      {
        label: "Action",
        cell: (o) => {
          const b = h("button", { type: "button", "aria-label": `Confirm order ${o.id}` }, "Confirm");
          b.addEventListener("click", async () => {
            const done = await act(b, status, `Confirming order ${o.id}`, async () => {
              const out = await api(`/v1/orders/${o.id}/confirm`, { method: "POST" });
              return `Order ${out.id} is now ${out.status}.`;
            });
            if (done) await refreshKeeping(ctx, status);
          });
          return b;
        },
      },
    ],
    proposed,
    { empty: "none." },
  );
  const acceptList = table(
    "Deliveries awaiting acceptance (enter the invoice to issue the receivable)",
    [
      { label: "Order", cell: (o) => `Order ${o.id}` },
      { label: "Supplier", cell: (o) => `Member ${o.supplier_id}` },
      { label: "Amount", num: true, cell: (o) => money(o.amount, o.currency) },
      { label: "Invoice", cell: (o) => acceptForm(o, status, ctx) },
    ],
    delivered,
    { empty: "none." },
  );
  return card("Orders", confirmList, acceptList, status);
}

function acceptForm(order, status, ctx) {
  const face = h("input", { inputmode: "decimal", value: order.amount, required: true, autocomplete: "off" });
  const maturity = h("input", { type: "date", required: true, value: order.due_date?.slice(0, 10) });
  const invoice = h("input", { required: true, autocomplete: "off", placeholder: "invoice number or 0x hash" });
  const submit = h("button", { type: "submit" }, "Accept and issue receivable");
  const form = h(
    "form",
    { class: "form", "data-order-id": order.id, "aria-label": `Accept delivery of order ${order.id}` },
    field("Face value", face),
    field("Maturity", maturity),
    field("Invoice", invoice, "hashed in the browser"),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = normaliseAmount(face.value);
    if (!value || value === "0.00") {
      setStatus(status, "error", "Enter the invoice's face value, such as 100,000.00.");
      face.focus();
      return;
    }
    const done = await act(submit, status, `Accepting order ${order.id}`, async () => {
      const body = { face_value: value, maturity: maturity.value, invoice_hash: await documentHash(invoice.value) };
      const out = await api(`/v1/orders/${order.id}/accept`, { method: "POST", body });
      return `Order ${out.id} is ${out.status}: receivable ${out.receivable_id} issued.`;
    });
    if (done) await refreshKeeping(ctx, status);
  });
  return form;
}

/** What I owe, by maturity month, with funded and unfunded amounts; fund a receivable. */
function calendarCard(funding, ctx) {
  const status = statusLine();
  status.id = "fund-status";
  const sorted = [...funding].sort((a, b) => String(a.maturity).localeCompare(String(b.maturity)));
  const months = new Map();
  for (const r of sorted) {
    const month = new Date(r.maturity).toLocaleDateString(undefined, { year: "numeric", month: "long" });
    if (!months.has(month)) months.set(month, []);
    months.get(month).push(r);
  }
  const fundCell = (r) => {
    if (r.status !== "active" || Number(r.unfunded) === 0) return "—";
    const amount = h("input", { inputmode: "decimal", value: r.unfunded, "aria-label": `Amount to fund receivable ${r.receivable_id}`, size: 12 });
    const b = h("button", { type: "button" }, "Fund");
    b.addEventListener("click", async () => {
      const value = normaliseAmount(amount.value);
      if (!value || value === "0.00") {
        setStatus(status, "error", "Enter an amount greater than zero.");
        amount.focus();
        return;
      }
      const done = await act(b, status, `Funding receivable ${r.receivable_id}`, async () => {
        const out = await api(`/v1/settlement/receivables/${r.receivable_id}/fund`, { method: "POST", body: { amount: value } });
        return `Receivable ${out.receivable_id}: ${money(out.funded)} funded, ${money(out.unfunded)} still to fund.`;
      });
      if (done) await refreshKeeping(ctx, status);
    });
    return h("div", { class: "actions" }, amount, b);
  };
  const sections = [...months].map(([month, list]) =>
    table(
      month,
      [
        { label: "Maturity", cell: (r) => date(r.maturity) },
        { label: "Receivable", cell: (r) => `Receivable ${r.receivable_id}` },
        { label: "Face value", num: true, cell: (r) => money(r.face_value, r.currency) },
        { label: "Funded", num: true, cell: (r) => money(r.funded, r.currency) },
        { label: "Unfunded", num: true, cell: (r) => money(r.unfunded, r.currency) },
        {
          label: "State",
          cell: (r) => badge(r.funding_status ?? r.status, Number(r.unfunded) === 0 ? "good" : "warn"),
        },
        { label: "Fund", cell: fundCell },
      ],
      list,
    ),
  );
  return card(
    "Payables calendar",
    sections.length ? sections : h("p", { class: "muted" }, "No receivable owed yet."),
    h("p", { class: "muted" }, "Every receivable I owe (from my orders or confirmed directly); amounts read from the settlement contract's state."),
    status,
  );
}
