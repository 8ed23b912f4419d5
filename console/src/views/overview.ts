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

const DAYS = 30;
const DAY_MS = 86_400_000;

function growthChart(memories: MemoryList["memories"], partial: boolean): HTMLElement {
  if (memories.length === 0) return h("p", {}, "Nothing stored yet.");
  // The last 30 calendar days up to the newest memory: the total at the end of each day.
  const newest = Date.parse(memories[0].created_at.slice(0, 10) + "T00:00:00Z");
  const days = Array.from({ length: DAYS }, (_, i) => new Date(newest - (DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10));
  const perDay = new Map<string, number>();
  let before = 0;
  for (const m of memories) {
    const day = m.created_at.slice(0, 10);
    if (day < days[0]) before++;
    else perDay.set(day, (perDay.get(day) ?? 0) + 1);
  }
  let total = before;
  const cumulative = days.map((d) => (total += perDay.get(d) ?? 0));
  const most = Math.max(...cumulative, 1);
  const svgNs = "http://www.w3.org/2000/svg";
  const [width, height, top, bottom] = [1000, 220, 18, 22];
  const bar = width / DAYS;
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute(
    "aria-label",
    `Memories stored, total at the end of each of the last ${DAYS} days: from ${cumulative[0]} on ${days[0]} to ${total} on ${days[DAYS - 1]}`,
  );
  const text = (x: number, y: number, value: string, anchor: string) => {
    const label = document.createElementNS(svgNs, "text");
    label.setAttribute("x", String(x));
    label.setAttribute("y", String(y));
    label.setAttribute("text-anchor", anchor);
    label.textContent = value;
    svg.appendChild(label);
  };
  days.forEach((day, i) => {
    const value = cumulative[i];
    const barHeight = value === 0 ? 0 : Math.max((value / most) * (height - top - bottom), 2);
    const rect = document.createElementNS(svgNs, "rect");
    rect.setAttribute("x", String(i * bar + 1));
    rect.setAttribute("y", String(height - bottom - barHeight));
    rect.setAttribute("width", String(bar - 2));
    rect.setAttribute("height", String(barHeight));
    const title = document.createElementNS(svgNs, "title");
    title.textContent = `${day}: ${value} (${perDay.get(day) ?? 0} new)`;
    rect.appendChild(title);
    svg.appendChild(rect);
  });
  text(4, top - 4, `${most.toLocaleString("en")}`, "start");
  text(2, height - 4, days[0], "start");
  text(width - 2, height - 4, days[DAYS - 1], "end");
  return h(
    "figure",
    {},
    svg,
    h(
      "figcaption",
      {},
      `Memories stored: the total at the end of each of the last ${DAYS} days`,
      partial ? ` (counted from the newest ${memories.length.toLocaleString("en")})` : "",
      ".",
    ),
  );
}
