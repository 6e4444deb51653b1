// Operator: the member directory with admit, suspend/reinstate, credit limit, custodial key rotation and API keys.
import { all, api } from "../api.js";
import { documentHash, money, normaliseAmount, shortHash } from "../format.js";
import { t, tv } from "../i18n.js";
import { act, badge, cachedMembers, card, field, h, memberName, memberNameWithId, roleLabel, ROLES, rolesText, setStatus, statusLine, table } from "../ui.js";
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
  const picker = h("select", { id: "keys-member" }, members.map((m) => h("option", { value: m.id, selected: m.id === keysOf }, memberNameWithId(m.id, m.name))));
  const show = h("button", { type: "button", id: "keys-show", class: "secondary" }, t("operator.show_keys"));
  show.addEventListener("click", async () => {
    keysOf = Number(picker.value);
    await ctx.refresh();
  });
  const parts = [h("div", { class: "actions" }, field(t("col.member"), picker), show)];
  if (keysOf !== null && members.some((m) => m.id === keysOf)) {
    const path = `/v1/members/${keysOf}/api-keys`;
    parts.push(h("h4", {}, memberName(keysOf)), ...keysPanel((await api(path)).items, path, ctx, { self: false }));
  }
  return card(t("operator.member_keys"), ...parts);
}

function admitCard(ctx) {
  const status = statusLine();
  status.id = "admit-status";
  const roles = ROLES.map((value) => {
    const box = h("input", { type: "checkbox", name: "roles", value, id: `admit-role-${value}` });
    return h("label", { for: box.id, class: "muted" }, box, ` ${roleLabel(value)}`);
  });
  const kyc = h("input", { id: "admit-kyc", required: true, autocomplete: "off", placeholder: t("admit.kyc_placeholder") });
  const group = h("input", { id: "admit-group", type: "number", min: 0, value: 0 });
  const limit = h("input", { id: "admit-limit", inputmode: "decimal", value: "0.00", autocomplete: "off" });
  const ceiling = h("input", { id: "admit-ceiling", inputmode: "decimal", value: "0.00", autocomplete: "off" });
  const label = h("input", { id: "admit-label", autocomplete: "off", maxlength: 100 });
  const submit = h("button", { type: "submit", id: "admit-submit" }, t("admit.submit"));
  const keyOut = h("div", { id: "admit-key", "aria-live": "polite" });
  const fieldset = h("fieldset", { class: "wide" }, h("legend", {}, t("col.roles")), h("div", { class: "actions" }, roles));
  const form = h("form", { class: "form", id: "admit-form" }, fieldset, field(t("admit.kyc"), kyc, t("propose.doc_hint")), field(t("admit.group"), group, t("admit.group_hint")), field(t("admit.limit"), limit), field(t("admit.ceiling"), ceiling, t("admit.ceiling_hint")), field(t("admit.key_label"), label), submit, status, keyOut);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...form.querySelectorAll('input[name="roles"]:checked')].map((b) => b.value);
    const credit = normaliseAmount(limit.value);
    const mintCeiling = normaliseAmount(ceiling.value);
    if (!chosen.length) return setStatus(status, "error", t("admit.error_role"));
    if (credit === null) return setStatus(status, "error", t("admit.error_limit"));
    if (mintCeiling === null) return setStatus(status, "error", t("admit.error_ceiling"));
    keyOut.replaceChildren();
    let admitted;
    const done = await act(submit, status, t("admit.admitting"), async () => {
      const body = { roles: chosen, kyc_hash: await documentHash(kyc.value), group_id: Number(group.value || 0), credit_limit: credit, label: label.value || undefined };
      // S-5: a financier mints only up to the ceiling the operator sets (0 until set)
      if (chosen.includes("financier")) body.mint_ceiling = mintCeiling;
      admitted = await api("/v1/members", { method: "POST", body });
      return t("admit.done", { name: memberName(admitted.member.id), roles: rolesText(admitted.member.roles) });
    });
    if (done) {
      await refreshKeeping(ctx, status);
      document.getElementById("admit-key")?.replaceChildren(
        h("p", {}, h("strong", {}, t("admit.key", { name: memberName(admitted.member.id) }))),
        h("p", { class: "hash", id: "admitted-key" }, admitted.api_key),
      );
    }
  });
  return card(t("admit.title"), form);
}

/** A financier's mint ceiling (S-5): the most cash it may have minted and not burned; 0 until set. */
function mintCeilingControls(m, run, status) {
  const input = h("input", { inputmode: "decimal", placeholder: "0.00", size: 12, "aria-label": t("members.ceiling_label", { id: m.id }) });
  const set = h("button", { type: "button", class: "secondary", "aria-label": t("members.set_ceiling_label", { id: m.id }) }, t("members.set_ceiling"));
  set.addEventListener("click", () => {
    const value = normaliseAmount(input.value);
    if (value === null) return setStatus(status, "error", t("admit.error_ceiling"));
    return run(set, t("members.setting_ceiling", { name: memberName(m.id) }), async () => {
      const out = await api(`/v1/cash/mint-ceilings/${m.id}`, { method: "POST", body: { ceiling: value } });
      return t("members.ceiling_is", { name: memberName(out.member_id), ceiling: money(out.ceiling), outstanding: money(out.outstanding) });
    });
  });
  return [input, set];
}

function membersCard(members, ctx) {
  const status = statusLine();
  status.id = "member-status";
  const run = (button, pending, call) => act(button, status, pending, call).then((done) => (done ? refreshKeeping(ctx, status) : undefined));
  const actions = (m) => {
    const toggle = m.status === "active" ? "suspend" : "reinstate";
    const suspend = toggle === "suspend";
    const b = h("button", { type: "button", class: "secondary", "aria-label": suspend ? t("members.suspend_label", { id: m.id }) : t("members.reinstate_label", { id: m.id }) }, suspend ? t("members.suspend") : t("members.reinstate"));
    const pending = suspend ? t("members.suspending", { name: memberName(m.id) }) : t("members.reinstating", { name: memberName(m.id) });
    b.addEventListener("click", () => run(b, pending, async () => {
      const out = await api(`/v1/members/${m.id}/${toggle}`, { method: "POST" });
      return t("members.now", { name: memberName(out.id), status: tv("status.member", out.status) });
    }));
    const limit = h("input", { inputmode: "decimal", value: m.credit_limit, size: 12, "aria-label": t("members.limit_label", { id: m.id }) });
    const setLimit = h("button", { type: "button", class: "secondary", "aria-label": t("members.set_limit_label", { id: m.id }) }, t("members.set_limit"));
    setLimit.addEventListener("click", () => {
      const value = normaliseAmount(limit.value);
      if (value === null) return setStatus(status, "error", t("admit.error_limit"));
      return run(setLimit, t("members.setting_limit", { name: memberName(m.id) }), async () => {
        const out = await api(`/v1/members/${m.id}/credit-limit`, { method: "POST", body: { credit_limit: value } });
        return t("members.limit_is", { name: memberName(out.id), limit: money(out.credit_limit) });
      });
    });
    const ceilingControls = m.roles.includes("financier") ? mintCeilingControls(m, run, status) : [];
    const rotate = h("button", { type: "button", class: "secondary", "aria-label": t("members.rotate_label", { id: m.id }) }, t("members.rotate"));
    rotate.addEventListener("click", () => run(rotate, t("members.rotating", { name: memberName(m.id) }), async () => {
      const out = await api(`/v1/members/${m.id}/rotate-key`, { method: "POST" });
      return t("members.rotated", { name: memberName(out.member.id), account: out.member.account, cash: money(out.recovered_cash), old: out.old_account });
    }));
    const extra = m.issuance_blocked ? [clearBlock(m, run)] : [];
    return h("div", { class: "actions" }, b, limit, setLimit, ceilingControls, rotate, extra);
  };
  // search in the browser over the whole directory (the API has no member search yet); newest members first
  const ordered = [...members].sort((a, b) => b.id - a.id);
  const search = h("input", { id: "member-search", type: "search", autocomplete: "off", placeholder: t("members.search_placeholder") });
  const holder = h("div", { id: "members-table" });
  const columns = [
    { label: t("col.member"), cell: (m) => memberNameWithId(m.id, m.name) },
    { label: t("col.roles"), cell: (m) => rolesText(m.roles) },
    { label: t("col.state"), cell: (m) => badge(tv("status.member", m.status), m.status === "active" ? "good" : "bad") },
    { label: t("col.account"), cell: (m) => h("span", { class: "hash", title: m.account }, shortHash(m.account)), csv: (m) => m.account },
    { label: t("col.outstanding_limit"), num: true, cell: (m) => `${money(m.outstanding)} / ${money(m.credit_limit)}`, csv: (m) => `${m.outstanding} / ${m.credit_limit}` },
    { label: t("col.defaults"), num: true, cell: (m) => String(m.default_count) },
    { label: t("col.administer"), cell: actions, csv: false },
  ];
  const draw = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = ordered.filter((m) => {
      const text = [m.id, memberNameWithId(m.id, m.name), m.account, m.status, tv("status.member", m.status), ...m.roles, ...m.roles.map(roleLabel)].join(" ").toLowerCase();
      return words.every((w) => text.includes(w));
    });
    holder.replaceChildren(
      table(t("members.caption"), columns, shown, {
        empty: words.length ? t("members.no_match") : t("members.none"),
        pageSize: 50,
        rowAttrs: (m) => ({ "data-member-id": m.id }),
      }),
    );
  };
  search.addEventListener("input", draw);
  draw();
  return card(
    t("members.title"),
    status,
    h("div", { class: "form" }, field(t("members.search"), search, t("members.search_hint"))),
    holder,
    h("p", { class: "muted" }, t("members.note")),
  );
}

function clearBlock(m, run) {
  const b = h("button", { type: "button", class: "secondary" }, t("members.lift"));
  b.addEventListener("click", () => run(b, t("members.lifting", { name: memberName(m.id) }), async () => {
    const out = await api(`/v1/members/${m.id}/clear-default-block`, { method: "POST" });
    return t("members.lifted", { name: memberName(out.id), state: out.issuance_blocked ? t("members.still_blocked") : t("members.unblocked") });
  }));
  return b;
}
