import { api, PART_NAMES, type Parts, type Recall } from "../api";
import { clear, excerpt, field, h, say } from "../dom";

const DESCRIBE: Record<keyof Parts, string> = {
  lexical: "the message's own words (BM25)",
  graph: "words of concepts linked to the message's concepts",
  dense: "embedding similarity",
  context: "the best score among neighbouring turns",
  time: "a 'when' question and a memory that places something in time",
  recency: "newer memories break near-ties",
};

export async function recall(main: HTMLElement): Promise<void> {
  main.appendChild(h("h1", {}, "Recall playground"));
  main.appendChild(
    h("p", {}, "Type what a user might say: see the context block your agent would get, and why each memory ranked."),
  );
  const message = h("textarea", { name: "message", rows: 3, required: true });
  const limit = h("input", { type: "number", name: "limit", min: 1, max: 100, value: 10 });
  const session = h("input", { type: "text", name: "session_id", autocomplete: "off" });
  const form = h(
    "form",
    { class: "card", "aria-label": "Recall" },
    field("Message", message),
    h("div", { class: "row" }, field("Memories", limit), field("Session (optional)", session)),
    h("button", { type: "submit" }, "Recall"),
  );
  const out = h("section", { "aria-label": "Recall result" });
  main.append(form, out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body: Record<string, unknown> = { message: message.value, limit: Number(limit.value) || 10, explain: true };
    if (session.value.trim()) body.session_id = session.value.trim();
    const result = await api<Recall>("POST", "/v1/recall", body);
    show(out, result);
  });
  message.focus();
}

function show(out: HTMLElement, result: Recall): void {
  clear(out);
  out.append(
    h("h2", {}, "Context block"),
    h("pre", { class: "context", tabindex: 0, "aria-label": "Context block" }, result.context || "(empty: nothing relevant)"),
    h(
      "p",
      {},
      `${result.memories.length} memories in ${result.query_time_ms.toFixed(1)} ms; concepts: `,
      result.concepts_found.length ? result.concepts_found.join(", ") : "none",
      ".",
    ),
    h("h2", {}, "Why each memory ranked"),
    legend(),
  );
  const best = Math.max(...result.memories.map((m) => m.score), 0.000001);
  out.appendChild(
    h(
      "ol",
      { class: "ranked" },
      result.memories.map((m, index) => {
        const parts = m.explain?.parts;
        return h(
          "li",
          { class: "card" },
          h("a", { href: `#/memory/${encodeURIComponent(m.id)}` }, excerpt(m.content, 200)),
          h("div", { class: "score" }, `score ${m.score.toFixed(4)}`, m.concepts?.length ? ` · via ${m.concepts.join(", ")}` : ""),
          parts ? bar(parts, best) : null,
          parts ? partsTable(parts, m.explain!.signals, `Score parts of memory ${index + 1}`) : null,
        );
      }),
    ),
  );
  say(`Recalled ${result.memories.length} memories.`);
}

function legend(): HTMLElement {
  return h(
    "ul",
    { class: "legend", "aria-label": "Score parts" },
    PART_NAMES.map((name) => h("li", {}, h("span", { class: `swatch part-${name}`, "aria-hidden": "true" }), h("strong", {}, name), `: ${DESCRIBE[name]}`)),
  );
}

function bar(parts: Parts, best: number): HTMLElement {
  // Widths are set through the CSSOM (allowed by the page's CSP), never as inline style attributes.
  const el = h("div", { class: "bar", "aria-hidden": "true" });
  for (const name of PART_NAMES) {
    const value = Math.max(parts[name], 0);
    if (value <= 0) continue;
    const segment = h("span", { class: `part-${name}`, title: `${name} ${value.toFixed(4)}` });
    segment.style.width = `${(100 * value) / best}%`;
    el.appendChild(segment);
  }
  return el;
}

function partsTable(parts: Parts, signals: Parts, label: string): HTMLElement {
  // In its own focusable scroll region: at phone width the table scrolls, not the page.
  return h(
    "div",
    { class: "scroll parts-scroll", tabindex: 0, role: "region", "aria-label": label },
    h(
    "table",
    { class: "parts" },
    h("caption", { class: "sr-only" }, "Score parts"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "signal"), PART_NAMES.map((n) => h("th", { scope: "col" }, n)))),
    h(
      "tbody",
      {},
      h("tr", {}, h("th", { scope: "row" }, "weighted part"), PART_NAMES.map((n) => h("td", {}, parts[n].toFixed(4)))),
      h("tr", {}, h("th", { scope: "row" }, "raw signal"), PART_NAMES.map((n) => h("td", {}, signals[n].toFixed(3)))),
    ),
    ),
  );
}
