// The provenance tree drawn with Cytoscape (breadthfirst layout): a receivable node, one node per note,
// one edge per movement (issue, split, merge, transfer, pledge, release, sale, redeem).
import cytoscape from "/app/vendor/cytoscape.esm.mjs";
import { money } from "./format.js";
import { t, tv } from "./i18n.js";
import { memberName } from "./ui.js";

const EDGE_COLOURS = {
  issue: "#0b4f8a",
  split: "#14632b",
  merge: "#5b3f8c",
  transfer: "#7a4b00",
  sale: "#a11a1a",
  pledge: "#4a5560",
  release: "#4a5560",
  redeem: "#1b1f24",
};

export function drawTree(container, tree, { focusNoteId, onEdge } = {}) {
  const root = `r${tree.slot_id}`;
  const elements = [{ data: { id: root, kind: "receivable", label: t("receivable.name", { id: tree.slot_id }) } }];
  for (const n of tree.nodes) {
    const holder = n.holder_id ? memberName(n.holder_id, n.holder_name) : t("graph.burned");
    elements.push({
      data: { id: `n${n.note_id}`, kind: "note", label: `${t("note.name", { id: n.note_id })}\n${money(n.value)}\n${holder}` },
      classes: [n.live ? "live" : "closed", n.note_id === focusNoteId ? "focus" : ""].join(" "),
    });
  }
  const known = new Set(elements.map((e) => e.data.id));
  tree.edges.forEach((e, index) => {
    const source = e.from_note_id ? `n${e.from_note_id}` : root;
    const target = e.to_note_id ? `n${e.to_note_id}` : root;
    if (!known.has(source) || !known.has(target)) return;
    elements.push({ data: { id: `e${index}`, source, target, kind: e.kind, label: tv("movement", e.kind), edge: e } });
  });
  const cy = cytoscape({
    container,
    elements,
    layout: { name: "breadthfirst", directed: true, roots: [root], spacingFactor: 1.1, padding: 16 },
    wheelSensitivity: 0.3,
    style: [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          width: 130,
          height: 58,
          "background-color": "#ffffff",
          "border-width": 2,
          "border-color": "#4a5560",
          label: "data(label)",
          "text-wrap": "wrap",
          "text-valign": "center",
          "font-size": 11,
          color: "#1b1f24",
        },
      },
      { selector: 'node[kind = "receivable"]', style: { "background-color": "#0b4f8a", color: "#ffffff", "border-color": "#0b4f8a" } },
      { selector: "node.closed", style: { "border-style": "dashed", color: "#4a5560" } },
      { selector: "node.focus", style: { "border-width": 4, "border-color": "#f2a900" } },
      {
        selector: "edge",
        style: {
          width: 2,
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          label: "data(label)",
          "font-size": 10,
          "text-background-color": "#ffffff",
          "text-background-opacity": 1,
          "line-color": (ele) => EDGE_COLOURS[ele.data("kind")] ?? "#4a5560",
          "target-arrow-color": (ele) => EDGE_COLOURS[ele.data("kind")] ?? "#4a5560",
        },
      },
      { selector: "edge:selected", style: { width: 4 } },
    ],
  });
  cy.on("tap", "edge", (event) => onEdge?.(event.target.data("edge")));
  return cy;
}
