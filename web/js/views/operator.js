// Operator: the member directory with admit, suspend/reinstate, credit limit, custodial key rotation and API keys.
import { all, api } from "../api.js";
import { documentHash, money, normaliseAmount, shortHash } from "../format.js";
import { act, badge, cachedMembers, card, field, h, ROLE_LABELS, setStatus, statusLine, table } from "../ui.js";
import { keysPanel } from "./keys.js";
import { refreshKeeping } from "./supplier.js";

let keysOf = null; // the member whose API keys the "A member's API keys" card shows (kept across re-renders)

export async function render(root, ctx) {
  const members = await all("/v1/members");
  cachedMembers(true);
  root.append(admitCard(ctx), membersCard(members, ctx), await memberKeysCard(members, ctx));
}

/** Issue a member a new API key (a member that lost its keys) or revoke any of its keys (a leaked one). */
async function memberKeysCard(members, ctx) {
  const picker = h("select", { id: "keys-member" }, members.map((m) => h("option", { value: m.id, selected: m.id === keysOf }, `Member ${m.id}`)));
  const show = h("button", { type: "button", id: "keys-show", class: "secondary" }, "Show keys");
  show.addEventListener("click", async () => {
    keysOf = Number(picker.value);
    await ctx.refresh();
  });
  const parts = [h("div", { class: "actions" }, field("Member", picker), show)];
  if (keysOf !== null && members.some((m) => m.id === keysOf)) {
    const path = `/v1/members/${keysOf}/api-keys`;
    parts.push(h("h4", {}, `Member ${keysOf}`), ...keysPanel((await api(path)).items, path, ctx, { self: false }));
  }
  return card("A member's API keys", ...parts);
}

function admitCard(ctx) {
  const status = statusLine();
  status.id = "admit-status";
  const roles = Object.entries(ROLE_LABELS).map(([value, label]) => {
    const box = h("input", { type: "checkbox", name: "roles", value, id: `admit-role-${value}` });
    return h("label", { for: box.id, class: "muted" }, box, ` ${label}`);
  });
  const kyc = h("input", { id: "admit-kyc", required: true, autocomplete: "off", placeholder: "KYC file reference or 0x hash" });
  const group = h("input", { id: "admit-group", type: "number", min: 0, value: 0 });
  const limit = h("input", { id: "admit-limit", inputmode: "decimal", value: "0.00", autocomplete: "off" });
  const label = h("input", { id: "admit-label", autocomplete: "off", maxlength: 100 });
  const submit = h("button", { type: "submit", id: "admit-submit" }, "Admit member");
  const keyOut = h("div", { id: "admit-key", "aria-live": "polite" });
  const fieldset = h("fieldset", { class: "wide" }, h("legend", {}, "Roles"), h("div", { class: "actions" }, roles));
  const form = h("form", { class: "form", id: "admit-form" }, fieldset, field("KYC document", kyc, "hashed (SHA-256) in the browser"), field("Related-party group", group, "0 = none"), field("Credit limit (obligors)", limit), field("Key label", label), submit, status, keyOut);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll('input[name="roles"]:checked')].map((b) => b.value);
    const credit = normaliseAmount(limit.value);
    if (!chosen.length) return setStatus(status, "error", "Choose at least one role.");
    if (credit === null) return setStatus(status, "error", "Enter the credit limit as an amount, such as 5,000,000.00.");
    keyOut.replaceChildren();
    let admitted;
    const done = await act(submit, status, "Admitting the member", async () => {
      const body = { roles: chosen, kyc_hash: await documentHash(kyc.value), group_id: Number(group.value || 0), credit_limit: credit, label: label.value || undefined };
      admitted = await api("/v1/members", { method: "POST", body });
      return `Member ${admitted.member.id} admitted (${admitted.member.roles.join(", ")}).`;
    });
    if (done) {
      await refreshKeeping(ctx, status);
      document.getElementById("admit-key")?.replaceChildren(
        h("p", {}, h("strong", {}, `API key of member ${admitted.member.id} (shown once; hand it over securely): `)),
        h("p", { class: "hash", id: "admitted-key" }, admitted.api_key),
      );
    }
  });
  return card("Admit a member", form);
}

function membersCard(members, ctx) {
  const status = statusLine();
  status.id = "member-status";
  const run = (button, pending, call) => act(button, status, pending, call).then((done) => (done ? refreshKeeping(ctx, status) : undefined));
  const actions = (m) => {
    const toggle = m.status === "active" ? "suspend" : "reinstate";
    const b = h("button", { type: "button", class: "secondary", "aria-label": `${toggle} member ${m.id}` }, toggle === "suspend" ? "Suspend" : "Reinstate");
    b.addEventListener("click", () => run(b, `${toggle === "suspend" ? "Suspending" : "Reinstating"} member ${m.id}`, async () => {
      const out = await api(`/v1/members/${m.id}/${toggle}`, { method: "POST" });
      return `Member ${out.id} is now ${out.status}.`;
    }));
    const limit = h("input", { inputmode: "decimal", value: m.credit_limit, size: 12, "aria-label": `Credit limit of member ${m.id}` });
    const setLimit = h("button", { type: "button", class: "secondary", "aria-label": `Set credit limit of member ${m.id}` }, "Set limit");
    setLimit.addEventListener("click", () => {
      const value = normaliseAmount(limit.value);
      if (value === null) return setStatus(status, "error", "Enter the credit limit as an amount, such as 5,000,000.00.");
      return run(setLimit, `Setting member ${m.id}'s credit limit`, async () => {
        const out = await api(`/v1/members/${m.id}/credit-limit`, { method: "POST", body: { credit_limit: value } });
        return `Member ${out.id}'s credit limit is ${money(out.credit_limit)}.`;
      });
    });
    const rotate = h("button", { type: "button", class: "secondary", "aria-label": `Rotate the custodial key of member ${m.id}` }, "Rotate key");
    rotate.addEventListener("click", () => run(rotate, `Rotating member ${m.id}'s custodial key`, async () => {
      const out = await api(`/v1/members/${m.id}/rotate-key`, { method: "POST" });
      return `Member ${out.member.id} now signs with ${out.member.account}; ${money(out.recovered_cash)} moved from ${out.old_account}. Its API keys are unchanged.`;
    }));
    const extra = m.issuance_blocked ? [clearBlock(m, run)] : [];
    return h("div", { class: "actions" }, b, limit, setLimit, rotate, extra);
  };
  return card(
    "Members",
    status,
    table(
      "Members of the consortium",
      [
        { label: "Member", cell: (m) => `Member ${m.id}` },
        { label: "Roles", cell: (m) => m.roles.map((r) => ROLE_LABELS[r] ?? r).join(", ") },
        { label: "State", cell: (m) => badge(m.status, m.status === "active" ? "good" : "bad") },
        { label: "Account", cell: (m) => h("span", { class: "hash", title: m.account }, shortHash(m.account)) },
        { label: "Outstanding / limit", num: true, cell: (m) => `${money(m.outstanding)} / ${money(m.credit_limit)}` },
        { label: "Defaults", num: true, cell: (m) => String(m.default_count) },
        { label: "Administer", cell: actions },
      ],
      members,
      { empty: "no member yet.", rowAttrs: (m) => ({ "data-member-id": m.id }) },
    ),
    h("p", { class: "muted" }, "A member's API key is shown once, when it is admitted. Rotating the custodial key replaces the member's signing account on chain; API keys stay valid."),
  );
}

function clearBlock(m, run) {
  const b = h("button", { type: "button", class: "secondary" }, "Lift issuance block");
  b.addEventListener("click", () => run(b, `Lifting member ${m.id}'s issuance block`, async () => {
    const out = await api(`/v1/members/${m.id}/clear-default-block`, { method: "POST" });
    return `Member ${out.id} may issue again: ${out.issuance_blocked ? "still blocked" : "unblocked"}.`;
  }));
  return b;
}
