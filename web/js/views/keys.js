// Every member: its own API keys by hint, issue a new one (shown once), revoke an old one (rotation without the operator).
import { api, apiKey } from "../api.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { act, badge, card, field, h, statusLine, table } from "../ui.js";
import { refreshKeeping } from "./supplier.js";

export async function render(root, ctx) {
  const path = `/v1/members/${ctx.me.id}/api-keys`;
  const keys = (await api(path)).items;
  root.append(card(t("keys.mine"), ...keysPanel(keys, path, ctx, { self: true })));
}

/**
 * A member's keys with issue and revoke. `self`: the member manages its own keys, so the key this tab signed in
 * with and the last active key cannot be revoked here; the operator may revoke any.
 */
export function keysPanel(keys, path, ctx, { self }) {
  const status = statusLine();
  status.id = "keys-status";
  const inUse = self ? (apiKey.get() ?? "").slice(0, 8) : null; // the hint of the key this tab signed in with
  const label = h("input", { id: "key-label", autocomplete: "off", maxlength: 64, placeholder: t("keys.purpose_placeholder") });
  const submit = h("button", { type: "submit", id: "key-issue" }, t("keys.issue"));
  const form = h("form", { class: "form", id: "key-form" }, field(t("keys.purpose"), label), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let issued;
    const done = await act(submit, status, t("keys.issuing"), async () => {
      issued = await api(path, { method: "POST", body: { label: label.value } });
      return t("keys.issued", { id: issued.key.id });
    }, { onChain: false });
    if (done) {
      await refreshKeeping(ctx, status);
      document.getElementById("key-issued")?.replaceChildren(
        h("p", {}, h("strong", {}, t("keys.new_key", { id: issued.key.id }))),
        h("p", { class: "hash", id: "issued-key" }, issued.api_key),
      );
    }
  });
  const active = keys.filter((k) => k.active).length;
  const revoke = (k) => {
    if (!k.active) return "—";
    if (k.hint === inUse) return h("span", { class: "muted" }, t("keys.in_use"));
    const b = h("button", { type: "button", class: "secondary", "aria-label": t("keys.revoke_label", { id: k.id }), disabled: self && active < 2 }, t("keys.revoke"));
    b.addEventListener("click", async () => {
      const done = await act(b, status, t("keys.revoking", { id: k.id }), async () => {
        const out = await api(`${path}/${k.id}/revoke`, { method: "POST" });
        return t("keys.revoked", { id: out.id, hint: out.hint });
      }, { onChain: false });
      if (done) await refreshKeeping(ctx, status);
    });
    return b;
  };
  return [
    form,
    h("div", { id: "key-issued", "aria-live": "polite" }),
    status,
    table(
      t("keys.caption"),
      [
        { label: t("col.key"), cell: (k) => t("keys.name", { id: k.id }) },
        { label: t("col.starts_with"), cell: (k) => h("span", { class: "hash" }, `${k.hint}…`) },
        { label: t("col.label"), cell: (k) => k.label || "—" },
        { label: t("col.issued"), cell: (k) => dateTime(k.created_at) },
        { label: t("col.state"), cell: (k) => badge(k.active ? t("status.key.active") : t("keys.revoked_at", { at: dateTime(k.revoked_at) }), k.active ? "good" : "bad") },
        { label: t("keys.revoke"), cell: revoke, csv: false },
      ],
      keys,
      { rowAttrs: (k) => ({ "data-key-id": k.id }) },
    ),
    h("p", { class: "muted" }, self ? t("keys.note_self") : t("keys.note_operator")),
  ];
}
