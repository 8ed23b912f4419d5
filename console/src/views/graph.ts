import cytoscape from "cytoscape";
import { api, type Entity, type EntityDetail, type Scored } from "../api";
import { clear, excerpt, h, say } from "../dom";

const CONCEPTS = 60; // the most mentioned; their links among themselves are drawn
const PARALLEL = 6;
const CYTOSCAPE_STYLESHEET = "__________cytoscape_stylesheet";

async function details(names: string[]): Promise<Map<string, EntityDetail>> {
  const out = new Map<string, EntityDetail>();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < names.length) {
      const name = names[next++];
      out.set(name, await api<EntityDetail>("GET", `/v1/entities/${encodeURIComponent(name)}`));
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out;
}

export async function graph(main: HTMLElement): Promise<void> {
  main.appendChild(h("h1", {}, "Concept graph"));
  const { entities } = await api<{ entities: Entity[] }>("GET", `/v1/entities?limit=${CONCEPTS}`);
  if (entities.length === 0) {
    main.appendChild(h("p", {}, "No concepts yet: they are extracted from what the agent learns."));
    return;
  }
  say("Loading links…");
  const byName = await details(entities.map((e) => e.name));
  const shown = new Set(entities.map((e) => e.name.toLowerCase()));
  const canonical = new Map(entities.map((e) => [e.name.toLowerCase(), e.name]));
  const edges = new Map<string, { source: string; target: string; strength: number }>();
  for (const [name, detail] of byName) {
    for (const link of detail.links) {
      const other = canonical.get(link.concept.toLowerCase());
      if (!other || !shown.has(other.toLowerCase()) || other === name) continue;
      const id = [name, other].sort().join("\u0000");
      if (!edges.has(id)) edges.set(id, { source: name, target: other, strength: link.strength });
    }
  }
  const most = Math.max(...entities.map((e) => e.mention_count), 1);
  const strongest = Math.max(...[...edges.values()].map((e) => e.strength), 0.0001);

  const layout = h("div", { class: "graph-layout" });
  const canvas = h("div", {
    class: "graph",
    role: "img",
    "aria-label": `Concept graph: ${entities.length} concepts and ${edges.size} links. The list beside it has the same concepts.`,
  });
  const panel = h("section", { class: "card panel", "aria-live": "polite", "aria-label": "Selected concept" }, h("p", {}, "Pick a concept in the graph or the list."));
  const list = h(
    "nav",
    { class: "concepts", "aria-label": "Concepts" },
    h("h2", {}, "Concepts"),
    h(
      "ul",
      {},
      entities.map((e) => h("li", {}, h("button", { type: "button", class: "link", "data-concept": e.name, onclick: () => select(e.name) }, `${e.name} (${e.mention_count})`))),
    ),
  );
  layout.append(canvas, panel, list);
  main.appendChild(layout);

  // Cytoscape adds a <style> element unless one with its id exists; the page's CSP allows no
  // inline style, so a placeholder stands in and style.css carries the rule it would add.
  if (!document.getElementById(CYTOSCAPE_STYLESHEET)) {
    document.head.appendChild(h("meta", { id: CYTOSCAPE_STYLESHEET, name: "cytoscape-style", content: "style.css" }));
  }
  const cy = cytoscape({
    container: canvas,
    elements: [
      ...entities.map((e) => ({ data: { id: e.name, label: e.name, size: 16 + 44 * Math.sqrt(e.mention_count / most) } })),
      ...[...edges.values()].map((e, i) => ({
        data: { id: `e${i}`, source: e.source, target: e.target, width: 1 + 7 * (e.strength / strongest) },
      })),
    ],
    style: [
      {
        selector: "node",
        style: {
          "background-color": "#1d4ed8",
          label: "data(label)",
          width: "data(size)",
          height: "data(size)",
          "font-size": 12,
          color: "#111827",
          "text-valign": "bottom",
          "text-margin-y": 4,
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.8,
        },
      },
      { selector: "edge", style: { width: "data(width)", "line-color": "#94a3b8", "curve-style": "haystack" } },
      { selector: "node:selected", style: { "background-color": "#b45309", "border-width": 3, "border-color": "#111827" } },
      { selector: ".near", style: { "background-color": "#047857" } },
    ],
    layout: { name: "cose", animate: false, randomize: false, nodeRepulsion: () => 9000, idealEdgeLength: () => 90 },
    wheelSensitivity: 0.3,
  });
  cy.on("tap", "node", (event) => select(event.target.id()));
  say(`${entities.length} concepts, ${edges.size} links.`);

  async function select(name: string): Promise<void> {
    cy.nodes().removeClass("near").unselect();
    const node = cy.getElementById(name);
    node.select();
    node.neighborhood("node").addClass("near");
    const detail = byName.get(name) ?? (await api<EntityDetail>("GET", `/v1/entities/${encodeURIComponent(name)}`));
    const found = await api<{ results: Scored[] }>("POST", "/v1/search", { query: name, limit: 10, mode: "lexical" });
    clear(panel);
    panel.append(
      h("h2", {}, name),
      h("p", {}, `${detail.entity_type}, mentioned ${detail.mention_count} times.`),
      h("h3", {}, "Neighbours"),
      detail.links.length === 0
        ? h("p", {}, "No links.")
        : h(
            "ul",
            {},
            detail.links.map((l) =>
              h(
                "li",
                {},
                shown.has(l.concept.toLowerCase())
                  ? h("button", { type: "button", class: "link", onclick: () => select(canonical.get(l.concept.toLowerCase()) ?? l.concept) }, l.concept)
                  : l.concept,
                ` — strength ${l.strength.toFixed(2)}, ${l.occurrences}×`,
              ),
            ),
          ),
      h("h3", {}, "Memories"),
      found.results.length === 0
        ? h("p", {}, "None found.")
        : h("ul", {}, found.results.map((m) => h("li", {}, h("a", { href: `#/memory/${encodeURIComponent(m.id)}` }, excerpt(m.content, 120))))),
    );
    say(`${name}: ${detail.links.length} neighbours, ${found.results.length} memories.`);
  }
}
