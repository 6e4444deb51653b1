// Supplier: my notes by obligor and maturity, split/transfer, financing offers, my orders and pledges.
import { all, api } from "../api.js";
import { date, daysUntil, documentHash, fromMinor, money, normaliseAmount, toMinor } from "../format.js";
import { act, badge, card, field, h, memberPicker, setStatus, statusLine, table } from "../ui.js";

export async function render(root, ctx) {
  const me = ctx.me;
  const [balance, notes, offers, orders] = await Promise.all([
    api("/v1/cash/balance"),
    all("/v1/notes"),
    all("/v1/financing/offers", { status: "open" }),
    all("/v1/orders"),
  ]);
  const held = notes.filter((n) => n.holder_id === me.id);
  root.append(
    cashCard(balance),
    notesCard(held),
    await moveCard(held, ctx),
    offersCard(offers.filter((o) => o.holder_id === me.id), held, balance, ctx),
    await ordersCard(orders, ctx),
  );
}

export function cashCard(balance) {
  return card(
    "Cash",
    h("p", {}, "Cash balance: ", h("span", { id: "cash-balance", class: "big", "data-amount": balance.balance }, money(balance.balance, balance.currency))),
  );
}

/** Notes grouped by obligor, then by maturity date, with subtotals and a total. */
function notesCard(held) {
  if (!held.length) return card("My notes", h("p", { class: "muted" }, "You hold no live notes."));
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
    body.append(h("tr", { class: "group" }, h("th", { colspan: 5, scope: "rowgroup" }, `Obligor: member ${obligor}`)));
    const inGroup = [];
    for (const [day, list] of [...byMaturity].sort()) {
      for (const note of list) {
        inGroup.push(note);
        body.append(
          h(
            "tr",
            { "data-note-id": note.id },
            h("td", {}, `Note ${note.id}`),
            h("td", {}, `Receivable ${note.receivable_id}`),
            h("td", {}, date(day)),
            h("td", { class: "num" }, money(note.value, note.currency)),
            h("td", {}, note.lienholder_id ? badge(`pledged to member ${note.lienholder_id}`, "warn") : "free"),
          ),
        );
      }
      if (list.length > 1) {
        body.append(h("tr", { class: "subtotal" }, h("td", { colspan: 3 }, `Maturing ${date(day)}`), h("td", { class: "num" }, money(sum(list))), h("td")));
      }
    }
    body.append(h("tr", { class: "subtotal" }, h("td", { colspan: 3 }, `Total owed by member ${obligor}`), h("td", { class: "num" }, money(sum(inGroup))), h("td")));
  }
  return card(
    "My notes",
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "my-notes" },
        h("caption", {}, "Live notes I hold, by obligor and maturity"),
        h("thead", {}, h("tr", {}, ["Note", "Receivable", "Maturity", "Value", "Lien"].map((t, i) => h("th", { scope: "col", class: i === 3 ? "num" : null }, t)))),
        body,
        h("tfoot", {}, h("tr", {}, h("td", { colspan: 3 }, "All my notes"), h("td", { class: "num", id: "notes-total" }, money(sum(held))), h("td"))),
      ),
    ),
  );
}

/** Split value off a note to a member, or transfer the whole note; the amount is checked against the note's value. */
async function moveCard(held, ctx) {
  const free = held.filter((n) => !n.lienholder_id);
  if (!free.length) return card("Split or transfer a note", h("p", { class: "muted" }, "No unpledged note to move."));
  const noteSelect = h("select", { name: "note", id: "move-note", required: true }, free.map((n) => h("option", { value: n.id }, `Note ${n.id}: ${money(n.value, n.currency)}`)));
  const action = h("select", { name: "action", id: "move-action" }, h("option", { value: "split" }, "Split part of it"), h("option", { value: "transfer" }, "Transfer the whole note"));
  const to = await memberPicker(ctx.me, { name: "to" });
  to.id = "move-to";
  const amount = h("input", { name: "amount", id: "move-amount", inputmode: "decimal", autocomplete: "off", placeholder: "e.g. 250,000.00" });
  const status = statusLine();
  status.id = "move-status";
  const submit = h("button", { type: "submit", id: "move-submit" }, "Split");
  const selected = () => free.find((n) => String(n.id) === noteSelect.value);
  const syncAction = () => {
    const split = action.value === "split";
    amount.disabled = !split;
    submit.textContent = split ? "Split" : "Transfer";
  };
  action.addEventListener("change", syncAction);
  const validate = () => {
    if (action.value !== "split") return null;
    const note = selected();
    const minor = toMinor(amount.value);
    if (minor === null || minor === 0n) return "Enter an amount greater than zero, such as 1,000.00.";
    if (minor > toMinor(note.value)) return `The amount ${money(fromMinor(minor))} is more than note ${note.id}'s value of ${money(note.value)}. Nothing was sent.`;
    if (minor === toMinor(note.value)) return "To move the whole value, choose “Transfer the whole note”.";
    return null;
  };
  amount.addEventListener("input", () => amount.setAttribute("aria-invalid", validate() && amount.value ? "true" : "false"));
  const form = h(
    "form",
    { class: "form", id: "move-form" },
    field("Note", noteSelect),
    field("Action", action),
    field("To member", to),
    field("Amount", amount, "no more than the note's value"),
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
      setStatus(status, "error", "Choose the member who receives the value.");
      to.focus();
      return;
    }
    const note = selected();
    const done = await act(submit, status, action.value === "split" ? "Splitting the note" : "Transferring the note", async () => {
      if (action.value === "split") {
        const result = await api(`/v1/notes/${note.id}/split`, { method: "POST", body: { to: Number(to.value), value: normaliseAmount(amount.value) } });
        return `Split done: note ${result.note.id} now holds ${money(result.note.value)}; new note ${result.new_note.id} holds ${money(result.new_note.value)} for member ${result.new_note.holder_id}.`;
      }
      const result = await api(`/v1/notes/${note.id}/transfer`, { method: "POST", body: { to: Number(to.value) } });
      const moved = result.note ?? result;
      return `Transferred: note ${moved.id} (${money(moved.value)}) is now held by member ${moved.holder_id}.`;
    });
    if (done) await refreshKeeping(ctx, status);
  });
  syncAction();
  return card("Split or transfer a note", form);
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
    const confirm = h("button", { type: "button", id: "offer-confirm" }, "Confirm and sell");
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Cancel");
    dialog.replaceChildren(
      h("h3", { id: "offer-dialog-title" }, `Sell ${money(fresh.value)} of note ${fresh.note_id} to member ${fresh.financier_id}?`),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "You receive today"), h("dd", { id: "offer-price" }, money(fresh.price)),
        h("dt", {}, "Discount"), h("dd", { id: "offer-discount" }, `${money(discount)} (${(fresh.rate_bps / 100).toFixed(2)} % a year)`),
        h("dt", {}, "Recourse"), h("dd", { id: "offer-recourse" }, fresh.recourse ? "With recourse: if the obligor defaults, the bank may claim the price back from you" : "Without recourse"),
        h("dt", {}, "Days to maturity"), h("dd", { id: "offer-days" }, days === null ? "—" : `${days} (${date(note?.maturity)})`),
        h("dt", {}, "Offer expires"), h("dd", {}, date(fresh.expires_at)),
      ),
      h("div", { class: "actions" }, confirm, cancel),
    );
    confirm.addEventListener("click", async () => {
      dialog.close();
      const before = balance.balance;
      const done = await act(button, status, `Selling to member ${fresh.financier_id}`, async () => {
        await api(`/v1/financing/offers/${fresh.id}/accept`, { method: "POST" });
        const after = await api("/v1/cash/balance");
        return `Sold: cash balance went from ${money(before)} to ${money(after.balance)}.`;
      });
      if (done) await refreshKeeping(ctx, status);
    });
    dialog.showModal();
    confirm.focus();
  };
  const rows = table(
    "Open offers on my notes",
    [
      { label: "Offer", cell: (o) => `Offer ${o.id}` },
      { label: "Bank", cell: (o) => `Member ${o.financier_id}` },
      { label: "Note", cell: (o) => `Note ${o.note_id}` },
      { label: "Value", num: true, cell: (o) => money(o.value, o.currency) },
      { label: "Price now", num: true, cell: (o) => money(o.price, o.currency) },
      { label: "Recourse", cell: (o) => (o.recourse ? "yes" : "no") },
      { label: "Days to maturity", num: true, cell: (o) => String(daysUntil(byNote.get(o.note_id)?.maturity) ?? "—") },
      {
        label: "Action",
        cell: (o) => {
          const button = h("button", { type: "button", "data-offer-id": o.id, "aria-label": `Review offer ${o.id}` }, "Review…");
          button.addEventListener("click", () => review(o, button));
          return button;
        },
      },
    ],
    offers,
    { empty: "no open offer." },
  );
  return card("Financing offers", rows, status, dialog);
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
      const b = h("button", { type: "button", "aria-label": `Mark order ${o.id} delivered` }, "Mark delivered");
      b.addEventListener("click", () => run(b, `Marking order ${o.id} delivered`, async () => {
        const out = await api(`/v1/orders/${o.id}/deliver`, { method: "POST" });
        return `Order ${out.id} is now ${out.status}.`;
      }));
      buttons.push(b);
    }
    if (["confirmed", "delivered"].includes(o.status) && o.holder_id === me.id && !o.lienholder_id) {
      const b = h("button", { type: "button", class: "secondary", "aria-label": `Pledge order ${o.id}` }, "Pledge");
      b.addEventListener("click", () => {
        if (!financiers.value) {
          setStatus(status, "error", "Choose the bank to pledge to first.");
          financiers.focus();
          return;
        }
        run(b, `Pledging order ${o.id}`, async () => {
          const out = await api(`/v1/orders/${o.id}/pledge`, { method: "POST", body: { financier_id: Number(financiers.value) } });
          return `Order ${out.id} is pledged to member ${out.lienholder_id}.`;
        });
      });
      buttons.push(b);
    }
    return h("div", { class: "actions" }, buttons);
  };
  const list = table(
    "My orders",
    [
      { label: "Order", cell: (o) => `Order ${o.id}` },
      { label: "Buyer", cell: (o) => `Member ${o.buyer_id}` },
      { label: "Amount", num: true, cell: (o) => money(o.amount, o.currency) },
      { label: "Due", cell: (o) => date(o.due_date) },
      { label: "State", cell: (o) => o.status },
      { label: "Pledged to", cell: (o) => (o.lienholder_id ? `Member ${o.lienholder_id}` : "—") },
      { label: "Receivable", cell: (o) => (o.receivable_id ? `Receivable ${o.receivable_id}` : "—") },
      { label: "Actions", cell: actions },
    ],
    mine,
    { empty: "no order yet." },
  );
  return card(
    "My orders",
    list,
    h("div", { class: "form" }, field("Bank to pledge to", financiers)),
    status,
    await proposeForm(ctx, status),
  );
}

async function proposeForm(ctx, status) {
  const buyer = await memberPicker(ctx.me, { role: "core_enterprise", name: "buyer" });
  buyer.id = "order-buyer";
  const amount = h("input", { id: "order-amount", inputmode: "decimal", required: true, autocomplete: "off" });
  const due = h("input", { id: "order-due", type: "date", required: true });
  const doc = h("input", { id: "order-doc", required: true, autocomplete: "off", placeholder: "purchase order number or 0x hash" });
  const submit = h("button", { type: "submit" }, "Propose order");
  const form = h("form", { class: "form", id: "propose-form" }, h("h4", { class: "wide" }, "Propose an order"), field("Buyer", buyer), field("Amount", amount), field("Due date", due), field("Purchase order", doc, "hashed (SHA-256) in the browser"), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = normaliseAmount(amount.value);
    if (!value || value === "0.00") {
      setStatus(status, "error", "Enter the order amount, such as 100,000.00.");
      amount.focus();
      return;
    }
    const done = await act(submit, status, "Proposing the order", async () => {
      const out = await api("/v1/orders", { method: "POST", body: { buyer_id: Number(buyer.value), amount: value, due_date: due.value, document_hash: await documentHash(doc.value) } });
      return `Order ${out.id} proposed to member ${out.buyer_id}: ${out.status}.`;
    });
    if (done) await refreshKeeping(ctx, status);
  });
  return form;
}
