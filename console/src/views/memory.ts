import { api, ApiError, type HistoryEntry, type Memory } from "../api";
import { field, h, say, when } from "../dom";

export async function memory(main: HTMLElement, id: string): Promise<void> {
  const item = await api<Memory>("GET", `/v1/memories/${encodeURIComponent(id)}`);
  main.appendChild(h("p", {}, h("a", { href: "#/memories" }, "← All memories")));
  main.appendChild(h("h1", {}, "Memory"));
  const facts: [string, string][] = [
    ["Id", item.id],
    ["Role", item.role],
    ["Session", item.session_id ?? "—"],
    ["Instance", item.instance_id ?? "—"],
    ["Stored", when(item.created_at)],
    ["Changed", when(item.updated_at)],
    ["Expires", item.expires_at ? when(item.expires_at) : "never"],
  ];
  main.appendChild(
    h(
      "div",
      { class: "card" },
      h("p", { class: "content" }, item.content),
      h("dl", { class: "facts" }, facts.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])),
      h("h2", {}, "Metadata"),
      h("pre", { class: "json", tabindex: 0, "aria-label": "Metadata as JSON" }, JSON.stringify(item.metadata, null, 2)),
    ),
  );
  main.appendChild(editForm(item));
  main.appendChild(await history(item.id));
}

function editForm(item: Memory): HTMLElement {
  const content = h("textarea", { name: "content", rows: 4 }, item.content);
  const role = h("input", { type: "text", name: "role", value: item.role, autocomplete: "off" });
  const metadata = h("textarea", { name: "metadata", rows: 4, spellcheck: "false" }, JSON.stringify(item.metadata, null, 2));
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "edit-title" },
    h("h2", { id: "edit-title" }, "Edit"),
    field("Content", content),
    field("Role", role),
    field("Metadata (JSON object, replaces the stored one)", metadata),
    problem,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit" }, "Save changes"),
      h("button", { type: "button", class: "danger", onclick: () => remove(item.id) }, "Delete memory"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const patch: Record<string, unknown> = {};
    if (content.value !== item.content) patch.content = content.value;
    if (role.value !== item.role) patch.role = role.value;
    try {
      const parsed = JSON.parse(metadata.value || "{}");
      if (JSON.stringify(parsed) !== JSON.stringify(item.metadata)) patch.metadata = parsed;
    } catch {
      problem.hidden = false;
      problem.textContent = "Metadata is not valid JSON.";
      return;
    }
    if (Object.keys(patch).length === 0) {
      say("Nothing changed.");
      return;
    }
    try {
      await api("PATCH", `/v1/memories/${encodeURIComponent(item.id)}`, patch);
      say("Saved.");
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      problem.hidden = false;
      problem.textContent = error instanceof Error ? error.message : String(error);
    }
  });
  return form;
}

async function remove(id: string): Promise<void> {
  if (!window.confirm("Delete this memory? It stops being recalled at once.")) return;
  await api("DELETE", `/v1/memories/${encodeURIComponent(id)}`);
  say("Memory deleted.");
  location.hash = "#/memories";
}

async function history(id: string): Promise<HTMLElement> {
  const section = h("section", { class: "card", "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "History"));
  let entries: HistoryEntry[] = [];
  try {
    entries = await api<HistoryEntry[]>("GET", `/v1/memories/${encodeURIComponent(id)}/history/`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  if (entries.length === 0) {
    section.appendChild(h("p", {}, "No recorded changes."));
    return section;
  }
  section.appendChild(
    h(
      "ol",
      { class: "history" },
      entries.map((e) =>
        h(
          "li",
          {},
          h("strong", {}, e.event.toLowerCase()),
          ` at ${when(e.created_at)}`,
          e.old_memory !== null && e.old_memory !== e.new_memory ? h("div", { class: "old" }, h("span", { class: "sr-only" }, "before: "), e.old_memory) : null,
          e.new_memory !== null ? h("div", { class: "new" }, h("span", { class: "sr-only" }, "after: "), e.new_memory) : null,
        ),
      ),
    ),
  );
  return section;
}
