import { api, type MemoryList, type Scored } from "../api";
import { clear, excerpt, field, h, say, table, when } from "../dom";

const PAGE = 25;

interface Filters {
  q: string;
  session_id: string;
  instance_id: string;
  role: string;
  since: string;
  until: string;
}

function readFilters(params: URLSearchParams): Filters {
  const get = (name: string) => params.get(name) ?? "";
  return { q: get("q"), session_id: get("session_id"), instance_id: get("instance_id"), role: get("role"), since: get("since"), until: get("until") };
}

function iso(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local.length === 10 ? `${local}T00:00:00Z` : local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export async function memories(main: HTMLElement, arg: string): Promise<void> {
  // The filters live in the URL fragment (#/memories/<query string>): links and Back keep them.
  const filters = readFilters(new URLSearchParams(arg));
  main.appendChild(h("h1", {}, "Memories"));
  const input = (name: keyof Filters, type = "text") =>
    h("input", { type, name, value: filters[name], autocomplete: "off" }) as HTMLInputElement;
  const controls = {
    q: input("q", "search"),
    session_id: input("session_id"),
    instance_id: input("instance_id"),
    role: input("role"),
    since: input("since", "date"),
    until: input("until", "date"),
  };
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter memories" },
    field("Search", controls.q, "Ranked search; empty lists newest first"),
    field("Session", controls.session_id),
    field("Instance", controls.instance_id),
    field("Role", controls.role),
    field("Since", controls.since),
    field("Until", controls.until),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, control] of Object.entries(controls)) if (control.value.trim()) params.set(name, control.value.trim());
    location.hash = `#/memories/${params.toString()}`;
  });
  main.appendChild(form);
  const results = h("section", { "aria-label": "Results" });
  main.appendChild(results);
  if (filters.q) await searchResults(results, filters);
  else await listPage(results, filters, null, []);
}

function filterBody(filters: Filters): Record<string, string> {
  const body: Record<string, string> = {};
  for (const name of ["session_id", "instance_id", "role"] as const) if (filters[name]) body[name] = filters[name];
  const since = iso(filters.since);
  const until = iso(filters.until);
  if (since) body.since = since;
  if (until) body.until = new Date(new Date(until).getTime() + 86_399_999).toISOString();
  return body;
}

async function searchResults(results: HTMLElement, filters: Filters): Promise<void> {
  const body = { query: filters.q, limit: 50, filters: filterBody(filters) };
  const found = await api<{ results: Scored[]; query_time_ms: number }>("POST", "/v1/search", body);
  clear(results);
  results.appendChild(h("p", {}, `${found.results.length} results in ${found.query_time_ms.toFixed(1)} ms, best first.`));
  results.appendChild(rows(found.results, true));
  say(`${found.results.length} results`);
}

async function listPage(results: HTMLElement, filters: Filters, cursor: string | null, previous: (string | null)[]): Promise<void> {
  const params = new URLSearchParams({ limit: String(PAGE), ...filterBody(filters) });
  if (cursor) params.set("cursor", cursor);
  const page = await api<MemoryList>("GET", `/v1/memories?${params}`);
  clear(results);
  const number = previous.length + 1;
  results.appendChild(h("p", {}, `Page ${number}, newest first.`));
  results.appendChild(rows(page.memories, false));
  const pager = h("div", { class: "pager" });
  if (previous.length > 0) {
    pager.appendChild(
      h("button", { type: "button", onclick: () => listPage(results, filters, previous[previous.length - 1], previous.slice(0, -1)) }, "Newer"),
    );
  }
  if (page.next_cursor) {
    const next = page.next_cursor;
    pager.appendChild(h("button", { type: "button", onclick: () => listPage(results, filters, next, [...previous, cursor]) }, "Older"));
  }
  results.appendChild(pager);
  say(`Page ${number}: ${page.memories.length} memories`);
}

function rows(items: (Scored | MemoryList["memories"][number])[], scored: boolean): HTMLElement {
  if (items.length === 0) return h("p", {}, "No memories match.");
  const head = ["Memory", "Role", "Session", "Instance", "Stored"];
  if (scored) head.push("Score");
  return table(
    "Memories",
    head,
    items.map((m) => {
      const cells: Node[] = [
        h("a", { href: `#/memory/${encodeURIComponent(m.id)}` }, excerpt(m.content)),
        document.createTextNode(m.role),
        document.createTextNode(m.session_id ?? "—"),
        document.createTextNode(m.instance_id ?? "—"),
        document.createTextNode(when(m.created_at)),
      ];
      if (scored) cells.push(document.createTextNode((m as Scored).score.toFixed(3)));
      return cells;
    }),
  );
}
