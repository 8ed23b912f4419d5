import { api, type MemoryList, type Stats } from "../api";
import { excerpt, h, table, when } from "../dom";

const GROWTH_PAGES = 5; // at most 5,000 of the newest memories are counted per day

export async function overview(main: HTMLElement): Promise<void> {
  main.appendChild(h("h1", {}, "Overview"));
  const stats = await api<Stats>("GET", "/v1/stats");
  const counts: [string, number][] = [
    ["Memories", stats.memories],
    ["Messages", stats.messages],
    ["Concepts", stats.entities],
    ["Concept links", stats.attention_links],
    ["Decisions", stats.decisions],
  ];
  main.appendChild(
    h(
      "ul",
      { class: "counts", "aria-label": "Counts" },
      counts.map(([label, value]) => h("li", { class: "card" }, h("span", { class: "num" }, value.toLocaleString("en")), h("span", {}, label))),
    ),
  );

  const memories: MemoryList["memories"] = [];
  let cursor: string | null = null;
  for (let page = 0; page < GROWTH_PAGES; page++) {
    const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const list: MemoryList = await api<MemoryList>("GET", `/v1/memories?limit=1000${query}`);
    memories.push(...list.memories);
    cursor = list.next_cursor;
    if (!cursor) break;
  }
  const section = h("section", { "aria-labelledby": "growth-title" }, h("h2", { id: "growth-title" }, "Growth"));
  main.appendChild(section);
  section.appendChild(growthChart(memories, cursor !== null));

  const recent = memories.slice(0, 10);
  main.appendChild(
    h(
      "section",
      { "aria-labelledby": "recent-title" },
      h("h2", { id: "recent-title" }, "Recent activity"),
      recent.length === 0
        ? h("p", {}, "No memories yet.")
        : table(
            "The newest memories",
            ["Stored", "Role", "Session", "Memory"],
            recent.map((m) => [
              document.createTextNode(when(m.created_at)),
              document.createTextNode(m.role),
              document.createTextNode(m.session_id ?? "—"),
              h("a", { href: `#/memory/${encodeURIComponent(m.id)}` }, excerpt(m.content, 100)),
            ]),
          ),
    ),
  );
}

function growthChart(memories: MemoryList["memories"], partial: boolean): HTMLElement {
  if (memories.length === 0) return h("p", {}, "Nothing stored yet.");
  const perDay = new Map<string, number>();
  for (const m of memories) {
    const day = m.created_at.slice(0, 10);
    perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  const days = [...perDay.keys()].sort().slice(-30);
  let total = memories.length - days.reduce((sum, d) => sum + (perDay.get(d) ?? 0), 0);
  const cumulative = days.map((d) => (total += perDay.get(d) ?? 0));
  const most = Math.max(...cumulative, 1);
  const svgNs = "http://www.w3.org/2000/svg";
  const width = 600;
  const height = 160;
  const bar = width / days.length;
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute(
    "aria-label",
    `Memories stored, cumulative, over the last ${days.length} active days: from ${cumulative[0]} to ${cumulative[cumulative.length - 1]}`,
  );
  days.forEach((day, i) => {
    const value = cumulative[i];
    const barHeight = Math.max((value / most) * (height - 10), 2);
    const rect = document.createElementNS(svgNs, "rect");
    rect.setAttribute("x", String(i * bar + 2));
    rect.setAttribute("y", String(height - barHeight));
    rect.setAttribute("width", String(Math.max(bar - 4, 1)));
    rect.setAttribute("height", String(barHeight));
    const title = document.createElementNS(svgNs, "title");
    title.textContent = `${day}: ${value} (${perDay.get(day)} new)`;
    rect.appendChild(title);
    svg.appendChild(rect);
  });
  return h(
    "figure",
    {},
    svg,
    h(
      "figcaption",
      {},
      `Memories stored per active day, cumulative (${days[0]} to ${days[days.length - 1]})`,
      partial ? `; counted from the newest ${memories.length.toLocaleString("en")}` : "",
      ".",
    ),
  );
}
