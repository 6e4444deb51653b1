// Verify a note against the chain (GET /v1/verify/notes/{id}?proof=true) and draw its receivable's provenance tree.
import { api, ApiError } from "../api.js";
import { date, money, shortHash, toMinor } from "../format.js";
import { drawTree } from "../graph.js";
import { t, tv } from "../i18n.js";
import { badge, card, field, h, memberName, setStatus, statusLine, table } from "../ui.js";

/** The note with its proof; where the proof would show a holder the caller may not see (403), the note alone. */
async function readNote(noteId, block) {
  try {
    return await api(`/v1/verify/notes/${noteId}`, { query: { block, proof: true } });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    return await api(`/v1/verify/notes/${noteId}`, { query: { block } });
  }
}

export function verifyCard() {
  const noteId = h("input", { id: "verify-note", type: "number", min: 1, required: true });
  const block = h("input", { id: "verify-block", value: "latest", autocomplete: "off" });
  const submit = h("button", { type: "submit", id: "verify-submit" }, t("verify.submit"));
  const status = statusLine();
  status.id = "verify-status";
  const result = h("div", { id: "verify-result" });
  const form = h("form", { class: "form", id: "verify-form" }, field(t("bank.note_id"), noteId), field(t("verify.at_block"), block, t("verify.at_block_hint")), submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    setStatus(status, "pending", t("verify.reading", { id: noteId.value }));
    result.replaceChildren();
    try {
      const note = await readNote(noteId.value, block.value.trim() || "latest");
      result.append(facts(note));
      setStatus(status, "ok", t("verify.read", { id: note.note_id, block: note.block.number }));
      const graph = await provenance(note);
      result.append(graph.section);
      graph.draw?.();
    } catch (error) {
      setStatus(status, "error", error.message);
    } finally {
      submit.disabled = false;
    }
  });
  return card(t("verify.title"), form, result);
}


/** The note's facts, and whether the proof bundle is present and consistent with them. */
function facts(note) {
  const check = proofCheck(note);
  const terms = note.receivable;
  const pairs = [
    [t("col.holder"), note.holder.account ? h("span", {}, `${memberName(note.holder.member_id, note.holder.name)} `, h("span", { class: "hash" }, `(${note.holder.account})`)) : t("verify.holder_hidden", { name: memberName(note.holder.member_id, note.holder.name) })],
    [t("col.value"), money(note.value, note.currency)],
    [t("verify.lock"), note.lienholder_id ? t("verify.pledged_to", { name: memberName(note.lienholder_id) }) : t("verify.not_pledged")],
    [t("col.receivable"), t("verify.receivable_terms", { id: terms.slot_id, obligor: memberName(terms.obligor_id), face: money(terms.face_value, note.currency), creditor: memberName(terms.creditor_id) })],
    [t("col.maturity"), date(terms.maturity)],
    [t("verify.status"), tv("status.receivable", terms.status)],
    [t("col.order"), terms.order_id ? t("order.name", { id: terms.order_id }) : "—"],
    [t("verify.invoice_hash"), h("span", { class: "hash" }, terms.invoice_hash)],
    [t("verify.parent"), note.parent_id ? t("note.name", { id: note.parent_id }) : t("verify.no_parent")],
    [t("verify.read_at"), h("span", {}, `${note.block.number} `, h("span", { class: "hash" }, note.block.hash))],
    [t("verify.contract"), h("span", { class: "hash" }, note.contract)],
    [t("verify.checked_against"), h("span", { id: "verify-node" }, checkedAgainst(note))],
    [t("verify.proof_check"), h("span", { id: "proof-check" }, badge(check.ok ? t("verify.consistent") : t("verify.not_consistent"), check.ok ? "good" : "bad"), " ", check.detail)],
  ];
  return h(
    "div",
    {},
    h("dl", { class: "facts", id: "verify-facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h(
      "p",
      { class: "muted", id: "verify-own-node" },
      t("verify.proof_note_before", { node: nodeLabel(note.node) }),
      h("code", {}, t("verify.proof_command", { file: proofFile(note) })),
      t("verify.proof_note_after"),
    ),
    note.proof ? proofDownload(note) : null,
  );
}

/** The node the service read the note and its proof from, as the console names it. */
function nodeLabel(node) {
  if (!node) return t("verify.node_unknown");
  return node.kind === "devchain" ? t("verify.node_devchain") : t("verify.node_named", { name: node.name });
}

/** "node X at block N (hash)": where this answer (and its proof) came from. */
function checkedAgainst(note) {
  const block = note.node?.block ?? note.block;
  return t("verify.node_at", { node: nodeLabel(note.node), block: block.number, hash: block.hash });
}

const proofFile = (note) => `note-${note.note_id}-proof.json`;

export function proofCheck(note) {
  const proof = note.proof;
  if (!proof && typeof note.holder.member_id === "string") return { ok: false, detail: t("proof.holder_hidden") };
  if (!proof) return { ok: false, detail: t("proof.none") };
  const word = proof.note ?? {};
  const problems = [];
  if (proof.block?.number !== note.block.number) problems.push(t("proof.block_number"));
  if (String(proof.block?.hash).toLowerCase() !== String(note.block.hash).toLowerCase()) problems.push(t("proof.block_hash"));
  if (String(proof.address).toLowerCase() !== String(note.contract).toLowerCase()) problems.push(t("proof.contract"));
  if (proof.noteId !== note.note_id) problems.push(t("proof.note_id"));
  if (word.holderId !== note.holder.member_id) problems.push(t("proof.holder"));
  if ((word.lienholderId || null) !== (note.lienholder_id ?? null)) problems.push(t("proof.lock"));
  if (word.slotId !== note.receivable.slot_id) problems.push(t("proof.receivable"));
  if (word.value === undefined || BigInt(word.value) !== toMinor(note.value)) problems.push(t("proof.value"));
  if (!proof.accountProof?.length || !proof.storageProof?.length) problems.push(t("proof.nodes_missing"));
  return problems.length
    ? { ok: false, detail: problems.join(t("proof.separator")) }
    : { ok: true, detail: t("proof.ok", { account: proof.accountProof.length, storage: proof.storageProof.length, root: shortHash(proof.block.stateRoot) }) };
}

function proofDownload(note) {
  const blob = new Blob([JSON.stringify(note.proof, null, 2)], { type: "application/json" });
  return h("p", {}, h("a", { id: "verify-download-proof", href: URL.createObjectURL(blob), download: proofFile(note) }, t("verify.download_proof")));
}

/** The receivable's tree (GET /v1/receivables/{slot}/tree); without it, the note's line of parents read from the chain. */
async function provenance(note) {
  const slot = note.receivable.slot_id;
  let tree;
  let source;
  try {
    tree = await api(`/v1/receivables/${slot}/tree`);
    source = t("provenance.source_tree", { id: slot });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404 || error.problem?.detail !== "Not Found") {
      return { section: card(t("provenance.title"), h("p", { class: "status error", role: "alert" }, error.message)) };
    }
    tree = await parentLine(note);
    source = t("provenance.source_parents");
  }
  const graphBox = h("div", { id: "provenance-graph", role: "img", "aria-label": t("provenance.graph_label", { id: slot }) });
  const details = statusLine();
  details.id = "edge-details";
  const showEdge = (edge) => setStatus(details, "ok", edgeText(edge));
  const edgeTable = table(
    t("provenance.movements"),
    [
      { label: t("col.kind"), cell: (e) => tv("movement", e.kind) },
      { label: t("col.from"), cell: (e) => (e.from_note_id ? t("note.name", { id: e.from_note_id }) : t("receivable.name", { id: slot })) },
      { label: t("col.to"), cell: (e) => (e.to_note_id ? t("note.name", { id: e.to_note_id }) : "—") },
      { label: t("col.value"), num: true, cell: (e) => money(e.value), csv: (e) => e.value ?? "" },
      { label: t("col.block"), num: true, cell: (e) => String(e.block_number ?? "—") },
      {
        label: t("col.transaction"),
        cell: (e) => (e.tx_hash ? h("button", { type: "button", class: "secondary hash", onclick: () => showEdge(e) }, shortHash(e.tx_hash)) : "—"),
        csv: (e) => e.tx_hash ?? "",
      },
    ],
    tree.edges,
    { empty: t("provenance.no_movement") },
  );
  const section = card(
    t("provenance.of", { id: slot }),
    h("p", { class: "muted" }, source),
    h("p", { id: "graph-summary" }, t("provenance.summary", { notes: tree.nodes.length, edges: tree.edges.length })),
    graphBox,
    details,
    edgeTable,
  );
  // Cytoscape measures its container: draw once the section is in the document.
  const draw = () => {
    const cy = drawTree(graphBox, tree, { focusNoteId: note.note_id, onEdge: showEdge });
    graphBox.dataset.noteCount = String(cy.nodes('[kind = "note"]').length);
    graphBox.dataset.edgeCount = String(cy.edges().length);
    window.__scfGraph = cy; // for tests and the curious: the live Cytoscape instance
  };
  return { section, draw };
}

function edgeText(edge) {
  const from = edge.from_member_id ? memberName(edge.from_member_id, edge.from_member_name) : t("provenance.the_obligor");
  const to = edge.to_member_id ? memberName(edge.to_member_id, edge.to_member_name) : "—";
  return t("provenance.edge", { kind: tv("movement", edge.kind), value: money(edge.value), from, to, tx: edge.tx_hash, block: edge.block_number });
}

async function parentLine(note) {
  const nodes = [];
  const edges = [];
  let current = note;
  for (let hops = 0; current && hops < 64; hops += 1) {
    nodes.push({ note_id: current.note_id, parent_id: current.parent_id, holder_id: current.holder.member_id, holder_name: current.holder.name, value: current.value, live: true, lienholder_id: current.lienholder_id });
    if (!current.parent_id) break;
    edges.push({ kind: "split", from_note_id: current.parent_id, to_note_id: current.note_id, value: null, tx_hash: null, block_number: null });
    current = await api(`/v1/verify/notes/${current.parent_id}`, { query: { block: current.block.number } });
  }
  edges.push({ kind: "issue", from_note_id: null, to_note_id: nodes.at(-1).note_id, value: note.receivable.face_value, tx_hash: null, block_number: null });
  return { slot_id: note.receivable.slot_id, root_note_id: nodes.at(-1).note_id, nodes: nodes.reverse(), edges: edges.reverse() };
}
