// Every member: its own API keys by hint, issue a new one (shown once), revoke an old one (rotation without the operator).
import { api, apiKey } from "../api.js";
import { dateTime } from "../format.js";
import { act, badge, card, field, h, statusLine, table } from "../ui.js";
import { refreshKeeping } from "./supplier.js";

export async function render(root, ctx) {
  const path = `/v1/members/${ctx.me.id}/api-keys`;
  const keys = (await api(path)).items;
  root.append(card("My API keys", ...keysPanel(keys, path, ctx, { self: true })));
}

/**
 * A member's keys with issue and revoke. `self`: the member manages its own keys, so the key this tab signed in
 * with and the last active key cannot be revoked here; the operator may revoke any.
 */
export function keysPanel(keys, path, ctx, { self }) {
  const status = statusLine();
  status.id = "keys-status";
  const inUse = self ? (apiKey.get() ?? "").slice(0, 8) : null; // the hint of the key this tab signed in with
  const label = h("input", { id: "key-label", autocomplete: "off", maxlength: 64, placeholder: "erp-connector" });
  const submit = h("button", { type: "submit", id: "key-issue" }, "Issue a new key");
  const form = h("form", { class: "form", id: "key-form" }, field("What the new key is for", label), submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let issued;
    const done = await act(submit, status, "Issuing a key", async () => {
      issued = await api(path, { method: "POST", body: { label: label.value } });
      return `Key ${issued.key.id} issued. Move your client to it, then revoke the old one.`;
    }, { onChain: false });
    if (done) {
      await refreshKeeping(ctx, status);
      document.getElementById("key-issued")?.replaceChildren(
        h("p", {}, h("strong", {}, `New API key ${issued.key.id} (shown once; store it now): `)),
        h("p", { class: "hash", id: "issued-key" }, issued.api_key),
      );
    }
  });
  const active = keys.filter((k) => k.active).length;
  const revoke = (k) => {
    if (!k.active) return "—";
    if (k.hint === inUse) return h("span", { class: "muted" }, "in use here");
    const b = h("button", { type: "button", class: "secondary", "aria-label": `Revoke API key ${k.id}`, disabled: self && active < 2 }, "Revoke");
    b.addEventListener("click", async () => {
      const done = await act(b, status, `Revoking key ${k.id}`, async () => {
        const out = await api(`${path}/${k.id}/revoke`, { method: "POST" });
        return `Key ${out.id} (${out.hint}…) revoked: it is refused from now on.`;
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
      "API keys of this member",
      [
        { label: "Key", cell: (k) => `Key ${k.id}` },
        { label: "Starts with", cell: (k) => h("span", { class: "hash" }, `${k.hint}…`) },
        { label: "Label", cell: (k) => k.label || "—" },
        { label: "Issued", cell: (k) => dateTime(k.created_at) },
        { label: "State", cell: (k) => badge(k.active ? "active" : `revoked ${dateTime(k.revoked_at)}`, k.active ? "good" : "bad") },
        { label: "Revoke", cell: revoke },
      ],
      keys,
      { rowAttrs: (k) => ({ "data-key-id": k.id }) },
    ),
    h("p", { class: "muted" }, self
      ? "Only a key's first characters are stored besides its hash. A revoked key is refused from the next request on; the last active key cannot be revoked here (ask the operator)."
      : "Only a key's first characters are stored besides its hash. A revoked key is refused from the next request on. Hand a new key to the member securely."),
  ];
}
