import { failure, headers, session } from "../api";
import { field, h, say } from "../dom";

export async function data(main: HTMLElement): Promise<void> {
  main.appendChild(h("h1", {}, "Export and import"));
  main.append(exportCard(), importCard());
}

function exportCard(): HTMLElement {
  const progress = h("progress", { max: 1, value: 0, "aria-label": "Export progress" });
  const note = h("p", { class: "note" }, "");
  const save = h("p", {});
  const button = h("button", { type: "button" }, "Export this tenant");
  button.addEventListener("click", async () => {
    button.disabled = true;
    save.textContent = "";
    try {
      const response = await fetch("/v1/export", { headers: headers(), cache: "no-store" });
      if (!response.ok || !response.body) throw await failure(response);
      const reader = response.body.getReader();
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      let lines = 0;
      progress.removeAttribute("value"); // the total is not known in advance: indeterminate
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.length;
        for (const byte of value) if (byte === 10) lines++;
        note.textContent = `${lines.toLocaleString("en")} records, ${(bytes / 1024).toFixed(1)} KiB…`;
      }
      progress.value = 1;
      note.textContent = `${lines.toLocaleString("en")} records, ${(bytes / 1024).toFixed(1)} KiB.`;
      const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: "application/x-ndjson" }));
      const name = `continuum-${tenantOf(chunks) ?? session.tenant ?? "tenant"}.jsonl`;
      const link = h("a", { href: url, download: name, class: "button" }, `Save ${name}`);
      save.appendChild(link);
      say("Export ready.");
    } catch (error) {
      note.textContent = error instanceof Error ? `Export failed: ${error.message}` : String(error);
    } finally {
      button.disabled = false;
    }
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title" }, "Export"),
    h("p", {}, "Everything of this tenant as JSON Lines: memories, messages, decisions, concepts, links."),
    button,
    progress,
    note,
    save,
  );
}

function importCard(): HTMLElement {
  const file = h("input", { type: "file", name: "file", accept: ".jsonl,.ndjson,application/x-ndjson" });
  const progress = h("progress", { max: 1, value: 0, "aria-label": "Import progress" });
  const note = h("p", { class: "note" }, "");
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "import-title" },
    h("h2", { id: "import-title" }, "Import"),
    h("p", {}, "Load an export into this tenant. Every line is checked before anything is written; ids already present are kept."),
    field("Export file", file),
    h("button", { type: "submit" }, "Import"),
    progress,
    note,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) {
      note.textContent = "Choose a file first.";
      return;
    }
    // XMLHttpRequest: fetch reports no upload progress.
    const request = new XMLHttpRequest();
    request.open("POST", "/v1/import");
    headers({ "Content-Type": "application/x-ndjson" }).forEach((value, name) => request.setRequestHeader(name, value));
    request.upload.onprogress = (e) => {
      if (e.lengthComputable) progress.value = e.loaded / e.total;
      note.textContent = `Sending ${(e.loaded / 1024).toFixed(1)} KiB…`;
    };
    request.onload = () => {
      progress.value = 1;
      try {
        const body = JSON.parse(request.responseText);
        if (request.status >= 400) {
          note.textContent = `Import failed: ${body?.error?.message ?? request.status}`;
          return;
        }
        const list = (counts: Record<string, number>) =>
          Object.entries(counts).map(([kind, n]) => `${kind} ${n}`).join(", ") || "none";
        note.textContent = `Written: ${list(body.imported)}. Skipped, already present: ${list(body.skipped)}.`;
        say("Import finished.");
      } catch {
        note.textContent = `Import failed: ${request.status}`;
      }
    };
    request.onerror = () => {
      note.textContent = "Import failed: the server could not be reached.";
    };
    request.send(chosen);
  });
  return form;
}

/** The tenant named by an export's header line (its first line). */
function tenantOf(chunks: Uint8Array[]): string | null {
  const head = new TextDecoder().decode(chunks[0] ?? new Uint8Array()).split("\n", 1)[0];
  try {
    const tenant = JSON.parse(head)?.tenant_id;
    return typeof tenant === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(tenant) ? tenant : null;
  } catch {
    return null;
  }
}
