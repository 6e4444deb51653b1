// Verify a note against the chain (GET /v1/verify/notes/{id}?proof=true) and draw its receivable's provenance tree.
import { api, ApiError } from "../api.js";
import { date, money, shortHash, toMinor } from "../format.js";
import { drawTree } from "../graph.js";
import { badge, card, field, h, setStatus, statusLine, table } from "../ui.js";

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
  const submit = h("button", { type: "submit", id: "verify-submit" }, "Verify");
  const status = statusLine();
  status.id = "verify-status";
  const result = h("div", { id: "verify-result" });
  const form = h("form", { class: "form", id: "verify-form" }, field("Note id", noteId), field("At block", block, "a number, or latest"), submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    setStatus(status, "pending", `Reading note ${noteId.value} from the chain…`);
    result.replaceChildren();
    try {
      const note = await readNote(noteId.value, block.value.trim() || "latest");
      result.append(facts(note));
      setStatus(status, "ok", `Note ${note.note_id} read at block ${note.block.number}.`);
      const graph = await provenance(note);
      result.append(graph.section);
      graph.draw?.();
    } catch (error) {
      setStatus(status, "error", error.message);
    } finally {
      submit.disabled = false;
    }
  });
  return card("Verify a note", form, result);
}

/** A member as the API names it: its id, or a pseudonym (`holder-…`) where the caller may not see who it is. */
const who = (ref) => (typeof ref === "string" ? ref : `member ${ref}`);

/** The note's facts, and whether the proof bundle is present and consistent with them. */
function facts(note) {
  const check = proofCheck(note);
  const terms = note.receivable;
  const pairs = [
    ["Holder", note.holder.account ? `Member ${note.holder.member_id} (${note.holder.account})` : `${note.holder.member_id} (not yours to see)`],
    ["Value", money(note.value, note.currency)],
    ["Lock", note.lienholder_id ? `Pledged to ${who(note.lienholder_id)}` : "Not pledged"],
    ["Receivable", `Receivable ${terms.slot_id}: member ${terms.obligor_id} owes ${money(terms.face_value, note.currency)} to ${who(terms.creditor_id)}`],
    ["Maturity", date(terms.maturity)],
    ["Status", terms.status],
    ["Order", terms.order_id ? `Order ${terms.order_id}` : "—"],
    ["Invoice hash", h("span", { class: "hash" }, terms.invoice_hash)],
    ["Parent note", note.parent_id ? `Note ${note.parent_id}` : "none (first note of the receivable)"],
    ["Read at block", h("span", {}, `${note.block.number} `, h("span", { class: "hash" }, note.block.hash))],
    ["Contract", h("span", { class: "hash" }, note.contract)],
    ["Proof check", h("span", { id: "proof-check" }, badge(check.ok ? "consistent" : "not consistent", check.ok ? "good" : "bad"), " ", check.detail)],
  ];
  return h(
    "div",
    {},
    h("dl", { class: "facts", id: "verify-facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h(
      "p",
      { class: "muted" },
      "This check compares the proof with the answer in your browser only. To check it without trusting this service, save the proof and run ",
      h("code", {}, "scf verify-proof proof.json --rpc <a node you trust>"),
      " (it verifies the Merkle proofs against the block's state root).",
    ),
    note.proof ? proofDownload(note) : null,
  );
}

export function proofCheck(note) {
  const proof = note.proof;
  if (!proof && typeof note.holder.member_id === "string") return { ok: false, detail: "no proof: it would show the note's holder, which is not yours to see" };
  if (!proof) return { ok: false, detail: "no proof was returned" };
  const word = proof.note ?? {};
  const problems = [];
  if (proof.block?.number !== note.block.number) problems.push("block number differs");
  if (String(proof.block?.hash).toLowerCase() !== String(note.block.hash).toLowerCase()) problems.push("block hash differs");
  if (String(proof.address).toLowerCase() !== String(note.contract).toLowerCase()) problems.push("contract differs");
  if (proof.noteId !== note.note_id) problems.push("note id differs");
  if (word.holderId !== note.holder.member_id) problems.push("holder differs");
  if ((word.lienholderId || null) !== (note.lienholder_id ?? null)) problems.push("lock differs");
  if (word.slotId !== note.receivable.slot_id) problems.push("receivable differs");
  if (word.value === undefined || BigInt(word.value) !== toMinor(note.value)) problems.push("value differs");
  if (!proof.accountProof?.length || !proof.storageProof?.length) problems.push("proof nodes missing");
  return problems.length
    ? { ok: false, detail: problems.join("; ") }
    : { ok: true, detail: `proof present: ${proof.accountProof.length} account and ${proof.storageProof.length} storage nodes under state root ${shortHash(proof.block.stateRoot)} agree with holder, value, lock and receivable` };
}

function proofDownload(note) {
  const blob = new Blob([JSON.stringify(note.proof, null, 2)], { type: "application/json" });
  return h("p", {}, h("a", { href: URL.createObjectURL(blob), download: `note-${note.note_id}-proof.json` }, "Download proof.json"));
}

/** The receivable's tree (GET /v1/receivables/{slot}/tree); without it, the note's line of parents read from the chain. */
async function provenance(note) {
  const slot = note.receivable.slot_id;
  let tree;
  let source;
  try {
    tree = await api(`/v1/receivables/${slot}/tree`);
    source = `Every note of receivable ${slot} and every movement between them, from the ledger's event log.`;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404 || error.problem?.detail !== "Not Found") {
      return { section: card("Provenance", h("p", { class: "status error", role: "alert" }, error.message)) };
    }
    tree = await parentLine(note);
    source = "The tree endpoint is not available on this service: showing the note's line of parents read from the chain.";
  }
  const graphBox = h("div", { id: "provenance-graph", role: "img", "aria-label": `Provenance graph of receivable ${slot}` });
  const details = statusLine();
  details.id = "edge-details";
  const showEdge = (edge) => setStatus(details, "ok", edgeText(edge));
  const edgeTable = table(
    "Movements (select one to see its transaction)",
    [
      { label: "Kind", cell: (e) => e.kind },
      { label: "From", cell: (e) => (e.from_note_id ? `Note ${e.from_note_id}` : `Receivable ${slot}`) },
      { label: "To", cell: (e) => (e.to_note_id ? `Note ${e.to_note_id}` : "—") },
      { label: "Value", num: true, cell: (e) => money(e.value) },
      { label: "Block", num: true, cell: (e) => String(e.block_number ?? "—") },
      {
        label: "Transaction",
        cell: (e) => (e.tx_hash ? h("button", { type: "button", class: "secondary hash", onclick: () => showEdge(e) }, shortHash(e.tx_hash)) : "—"),
      },
    ],
    tree.edges,
    { empty: "no movement recorded." },
  );
  const section = card(
    `Provenance of receivable ${slot}`,
    h("p", { class: "muted" }, source),
    h("p", { id: "graph-summary" }, `${tree.nodes.length} notes, ${tree.edges.length} movements. Click an edge (or a row below) for its transaction.`),
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
  const from = edge.from_member_id ? who(edge.from_member_id) : "the obligor";
  const to = edge.to_member_id ? who(edge.to_member_id) : "—";
  return `${edge.kind} of ${money(edge.value)} from ${from} to ${to} in transaction ${edge.tx_hash} (block ${edge.block_number}).`;
}

async function parentLine(note) {
  const nodes = [];
  const edges = [];
  let current = note;
  for (let hops = 0; current && hops < 64; hops += 1) {
    nodes.push({ note_id: current.note_id, parent_id: current.parent_id, holder_id: current.holder.member_id, value: current.value, live: true, lienholder_id: current.lienholder_id });
    if (!current.parent_id) break;
    edges.push({ kind: "split", from_note_id: current.parent_id, to_note_id: current.note_id, value: null, tx_hash: null, block_number: null });
    current = await api(`/v1/verify/notes/${current.parent_id}`, { query: { block: current.block.number } });
  }
  edges.push({ kind: "issue", from_note_id: null, to_note_id: nodes.at(-1).note_id, value: note.receivable.face_value, tx_hash: null, block_number: null });
  return { slot_id: note.receivable.slot_id, root_note_id: nodes.at(-1).note_id, nodes: nodes.reverse(), edges: edges.reverse() };
}
