// Core enterprise: orders to confirm and deliveries to accept (issuing the receivable), payables calendar, funding.
import { all, api } from "../api.js";
import { amountAxis, chartBox } from "../charts.js";
import { date, documentHash, fromMinor, money, monthKey, monthLabel, normaliseAmount, toMinor } from "../format.js";
import { t, tv } from "../i18n.js";
import { act, badge, card, field, h, memberName, setStatus, statusLine, table } from "../ui.js";
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
  const chart = payablesChart(owed, funding, balance);
  root.append(cashCard(balance), chart.section, ordersCard(bought, ctx), calendarCard(funding, ctx));
  chart.draw?.();
}

/**
 * What I still owe (receivables not yet settled) by maturity month, each month's bar split into what is already
 * set aside in the settlement contract (funded) and what is still to pay; the line is the cash I would have left
 * after paying every month so far from today's cash balance. A month where it goes below zero is flagged.
 */
export function payablesByMonth(owed, funding, cashBalance) {
  const funded = new Map(funding.map((f) => [f.receivable_id, toMinor(f.funded) ?? 0n]));
  const months = new Map();
  for (const r of owed) {
    if (r.status !== "active") continue;
    const key = monthKey(r.maturity);
    const row = months.get(key) ?? { month: key, total: 0n, funded: 0n, count: 0 };
    const set = funded.get(r.id) ?? 0n;
    row.total += toMinor(r.face_value);
    row.funded += set;
    row.count += 1;
    months.set(key, row);
  }
  let cash = toMinor(cashBalance);
  return [...months.values()]
    .sort((a, b) => a.month.localeCompare(b.month))
    .map((row) => {
      const toPay = row.total - row.funded;
      cash -= toPay;
      return { ...row, toPay, cashAfter: cash, short: cash < 0n };
    });
}

function payablesChart(owed, funding, balance) {
  const rows = payablesByMonth(owed, funding, balance.balance);
  if (!rows.length) return { section: card(t("payables.chart_title"), h("p", { class: "muted" }, t("calendar.none"))) };
  const amount = (minor) => Number(fromMinor(minor < 0n ? -minor : minor)) * (minor < 0n ? -1 : 1);
  const firstShort = rows.find((r) => r.short);
  const { box, draw } = chartBox("core-payables-chart", t("payables.chart_title"), {
    title: { text: t("payables.chart_title"), left: "center", textStyle: { fontSize: 14 } },
    legend: { bottom: 0 },
    grid: { left: 80, right: 20, top: 50, bottom: 60 },
    xAxis: { type: "category", data: rows.map((r) => monthLabel(r.month)), name: t("payables.axis_month"), nameLocation: "middle", nameGap: 28 },
    yAxis: amountAxis(t("chart.axis_amount")),
    series: [
      { name: t("payables.series_funded"), type: "bar", stack: "due", data: rows.map((r) => amount(r.funded)) },
      {
        name: t("payables.series_to_pay"),
        type: "bar",
        stack: "due",
        data: rows.map((r) => ({ value: amount(r.toPay), itemStyle: r.short ? { color: "#a11a1a" } : undefined })),
      },
      {
        name: t("payables.series_cash_after"),
        type: "line",
        data: rows.map((r) => amount(r.cashAfter)),
        markLine: { symbol: "none", data: [{ yAxis: amount(toMinor(balance.balance)), name: t("payables.cash_line") }], label: { formatter: t("payables.cash_line"), position: "insideEndTop" } },
      },
    ],
  });
  box.dataset.cash = balance.balance;
  const warning = firstShort
    ? h("p", { class: "status error", role: "alert", id: "cash-warning" }, t("payables.warning", { month: monthLabel(firstShort.month), short: money(fromMinor(-firstShort.cashAfter)), cash: money(balance.balance) }))
    : h("p", { class: "status ok", id: "cash-warning" }, t("payables.enough", { cash: money(balance.balance) }));
  const monthTable = table(
    t("payables.table_caption"),
    [
      { label: t("col.month"), cell: (r) => monthLabel(r.month), csv: (r) => r.month },
      { label: t("col.receivables"), num: true, cell: (r) => String(r.count) },
      { label: t("col.month_total"), num: true, cell: (r) => money(fromMinor(r.total)), csv: (r) => fromMinor(r.total) },
      { label: t("col.funded"), num: true, cell: (r) => money(fromMinor(r.funded)), csv: (r) => fromMinor(r.funded) },
      { label: t("col.to_pay"), num: true, cell: (r) => money(fromMinor(r.toPay)), csv: (r) => fromMinor(r.toPay) },
      {
        label: t("col.cash_after"),
        num: true,
        cell: (r) => (r.short ? badge(money(`-${fromMinor(-r.cashAfter)}`), "bad") : money(fromMinor(r.cashAfter))),
        csv: (r) => (r.short ? `-${fromMinor(-r.cashAfter)}` : fromMinor(r.cashAfter)),
      },
    ],
    rows,
    { id: "payables-months", rowAttrs: (r) => ({ "data-month": r.month }) },
  );
  return { section: card(t("payables.chart_title"), warning, box, monthTable), draw };
}

function ordersCard(bought, ctx) {
  const status = statusLine();
  status.id = "core-order-status";
  const proposed = bought.filter((o) => o.status === "proposed");
  const delivered = bought.filter((o) => o.status === "delivered");
  const confirmList = table(
    t("core.awaiting_confirmation"),
    [
      { label: t("col.order"), cell: (o) => t("order.name", { id: o.id }) },
      { label: t("col.supplier"), cell: (o) => memberName(o.supplier_id, o.supplier_name) },
      { label: t("col.amount"), num: true, cell: (o) => money(o.amount, o.currency), csv: (o) => o.amount },
      { label: t("col.due"), cell: (o) => date(o.due_date) },
      {
        label: t("col.action"),
        csv: false,
        cell: (o) => {
          const b = h("button", { type: "button", "aria-label": t("core.confirm_label", { id: o.id }) }, t("core.confirm"));
          b.addEventListener("click", async () => {
            const done = await act(b, status, t("core.confirming", { id: o.id }), async () => {
              const out = await api(`/v1/orders/${o.id}/confirm`, { method: "POST" });
              return t("orders.now", { id: out.id, status: tv("status.order", out.status) });
            });
            if (done) await refreshKeeping(ctx, status);
          });
          return b;
        },
      },
    ],
    proposed,
    { empty: t("core.none") },
  );
  const acceptList = table(
    t("core.awaiting_acceptance"),
    [
      { label: t("col.order"), cell: (o) => t("order.name", { id: o.id }) },
      { label: t("col.supplier"), cell: (o) => memberName(o.supplier_id, o.supplier_name) },
      { label: t("col.amount"), num: true, cell: (o) => money(o.amount, o.currency), csv: (o) => o.amount },
      { label: t("col.invoice"), cell: (o) => acceptForm(o, status, ctx), csv: false },
    ],
    delivered,
    { empty: t("core.none") },
  );
  return card(t("core.orders"), confirmList, acceptList, status);
}

function acceptForm(order, status, ctx) {
  const face = h("input", { inputmode: "decimal", value: order.amount, required: true, autocomplete: "off" });
  const maturity = h("input", { type: "date", required: true, value: order.due_date?.slice(0, 10) });
  const invoice = h("input", { required: true, autocomplete: "off", placeholder: t("core.invoice_placeholder") });
  const submit = h("button", { type: "submit" }, t("core.accept"));
  const form = h(
    "form",
    { class: "form", "data-order-id": order.id, "aria-label": t("core.accept_label", { id: order.id }) },
    field(t("col.face_value"), face),
    field(t("col.maturity"), maturity),
    field(t("col.invoice"), invoice, t("core.invoice_hint")),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = normaliseAmount(face.value);
    if (!value || value === "0.00") {
      setStatus(status, "error", t("core.error_face"));
      face.focus();
      return;
    }
    const done = await act(submit, status, t("core.accepting", { id: order.id }), async () => {
      const body = { face_value: value, maturity: maturity.value, invoice_hash: await documentHash(invoice.value) };
      const out = await api(`/v1/orders/${order.id}/accept`, { method: "POST", body });
      return t("core.accepted", { id: out.id, status: tv("status.order", out.status), receivable: out.receivable_id });
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
    const month = monthLabel(monthKey(r.maturity));
    if (!months.has(month)) months.set(month, []);
    months.get(month).push(r);
  }
  // bulk funding: tick several receivables and fund each one's unfunded amount in one action (one call each)
  const selected = new Map();
  const bulk = h("button", { type: "button", id: "fund-selected", disabled: true }, t("calendar.fund_selected", { count: 0 }));
  const syncBulk = () => {
    bulk.disabled = selected.size === 0;
    bulk.textContent = t("calendar.fund_selected", { count: selected.size });
  };
  bulk.addEventListener("click", async () => {
    const chosen = [...selected.values()];
    const done = await act(bulk, status, t("calendar.funding_many", { count: chosen.length }), async () => {
      const funded = [];
      for (const r of chosen) {
        try {
          await api(`/v1/settlement/receivables/${r.receivable_id}/fund`, { method: "POST", body: { amount: r.unfunded } });
        } catch (error) {
          const before = funded.length ? t("calendar.funded_before_error", { ids: funded.join(t("list.separator")) }) : "";
          throw new Error(`${t("calendar.bulk_failed", { id: r.receivable_id, error: error.message })}${before}`, {
            cause: error,
          });
        }
        funded.push(r.receivable_id);
      }
      const total = chosen.reduce((sum, r) => sum + toMinor(r.unfunded), 0n);
      return t("calendar.funded_many", { count: funded.length, total: money(fromMinor(total)), ids: funded.join(t("list.separator")) });
    });
    if (done) await refreshKeeping(ctx, status);
  });
  const fundCell = (r) => {
    if (r.status !== "active" || Number(r.unfunded) === 0) return "—";
    const pick = h("input", { type: "checkbox", class: "fund-pick", "data-receivable-id": r.receivable_id, "aria-label": t("calendar.pick_label", { id: r.receivable_id }) });
    pick.addEventListener("change", () => {
      if (pick.checked) selected.set(r.receivable_id, r);
      else selected.delete(r.receivable_id);
      syncBulk();
    });
    const amount = h("input", { inputmode: "decimal", value: r.unfunded, "aria-label": t("calendar.fund_amount_label", { id: r.receivable_id }), size: 12 });
    const b = h("button", { type: "button" }, t("calendar.fund"));
    b.addEventListener("click", async () => {
      const value = normaliseAmount(amount.value);
      if (!value || value === "0.00") {
        setStatus(status, "error", t("calendar.error_amount"));
        amount.focus();
        return;
      }
      const done = await act(b, status, t("calendar.funding", { id: r.receivable_id }), async () => {
        const out = await api(`/v1/settlement/receivables/${r.receivable_id}/fund`, { method: "POST", body: { amount: value } });
        return t("calendar.funded", { id: out.receivable_id, funded: money(out.funded), unfunded: money(out.unfunded) });
      });
      if (done) await refreshKeeping(ctx, status);
    });
    return h("div", { class: "actions" }, pick, amount, b);
  };
  const sections = [...months].map(([month, list]) =>
    table(
      month,
      [
        { label: t("col.maturity"), cell: (r) => date(r.maturity) },
        { label: t("col.receivable"), cell: (r) => t("receivable.name", { id: r.receivable_id }) },
        { label: t("col.face_value"), num: true, cell: (r) => money(r.face_value, r.currency), csv: (r) => r.face_value },
        { label: t("col.funded"), num: true, cell: (r) => money(r.funded, r.currency), csv: (r) => r.funded },
        { label: t("col.unfunded"), num: true, cell: (r) => money(r.unfunded, r.currency), csv: (r) => r.unfunded },
        {
          label: t("col.state"),
          cell: (r) => badge(r.funding_status ? tv("status.funding", r.funding_status) : tv("status.receivable", r.status), Number(r.unfunded) === 0 ? "good" : "warn"),
        },
        { label: t("calendar.fund"), cell: fundCell, csv: false },
      ],
      list,
    ),
  );
  return card(
    t("calendar.title"),
    sections.length ? [h("div", { class: "actions" }, bulk, h("span", { class: "muted" }, t("calendar.bulk_hint"))), sections] : h("p", { class: "muted" }, t("calendar.none")),
    h("p", { class: "muted" }, t("calendar.hint")),
    status,
  );
}
