import "./style.css";
import { api, ApiError, session } from "./api";
import { clear, field, h, say } from "./dom";
import { overview } from "./views/overview";
import { memories } from "./views/memories";
import { memory } from "./views/memory";
import { graph } from "./views/graph";
import { recall } from "./views/recall";
import { data } from "./views/data";

type View = (main: HTMLElement, arg: string) => Promise<void>;

const VIEWS: [string, string, View][] = [
  ["overview", "Overview", overview],
  ["memories", "Memories", memories],
  ["graph", "Concept graph", graph],
  ["recall", "Recall playground", recall],
  ["data", "Export / import", data],
];
const HIDDEN: Record<string, View> = { memory };

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;

function signedIn(): boolean {
  return session.key !== null && (!session.admin || session.tenant !== null);
}

function renderChrome(active: string): void {
  clear(nav);
  clear(who);
  if (!signedIn()) {
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  nav.appendChild(
    h(
      "ul",
      {},
      VIEWS.map(([name, label]) =>
        h(
          "li",
          {},
          h("a", { href: `#/${name}`, "aria-current": name === active ? "page" : undefined }, label),
        ),
      ),
    ),
  );
  const tenant = session.tenant;
  who.appendChild(h("span", { class: "tenant" }, tenant ? `tenant ${tenant}` : session.admin ? "" : "your tenant"));
  if (session.admin) {
    who.appendChild(
      h("button", { type: "button", class: "link", onclick: () => { session.pickTenant(null); route(); } }, "Switch tenant"),
    );
  }
  who.appendChild(
    h("button", { type: "button", class: "link", onclick: () => { session.signOut(); go("#/"); } }, "Sign out"),
  );
}

async function route(): Promise<void> {
  const [name = "overview", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const arg = decodeURIComponent(rest.join("/"));
  clear(main);
  say("");
  // Each visit renders into its own box: a visit that a newer one replaced renders out of sight.
  const box = h("div", { class: "view" });
  main.appendChild(box);
  if (session.key === null) {
    renderChrome("");
    signIn(box);
    return;
  }
  if (session.admin && session.tenant === null) {
    renderChrome("");
    await pickTenant(box).catch((error) => showError(error, box));
    return;
  }
  const view = VIEWS.find(([n]) => n === name)?.[2] ?? HIDDEN[name] ?? overview;
  renderChrome(name === "memory" ? "memories" : name);
  try {
    await view(box, arg);
  } catch (error) {
    showError(error, box);
  }
}

function go(hash: string): void {
  if (location.hash === hash) route();
  else location.hash = hash; // hashchange routes
}

export function showError(error: unknown, box: HTMLElement = main): void {
  if (error instanceof ApiError && error.status === 401) {
    session.signOut();
    route();
    say(`Signed out: ${error.message}`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  box.appendChild(h("p", { class: "error", role: "alert" }, message));
}

function signIn(main: HTMLElement): void {
  const key = h("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h(
      "p",
      {},
      "Use a tenant API key to see that tenant, or the admin key to pick any tenant. ",
      "The key stays in this tab's session storage and is sent as a header; it is never put in a URL.",
    ),
    field("API key", key, "Leave empty when the server requires no keys."),
    problem,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const value = key.value.trim();
    try {
      const options = { key: value || null, tenant: null };
      await api("GET", "/v1/stats", undefined, options); // any valid key may read its counts
      // Health tells the admin key everything (and everyone, when the server requires no keys):
      // only then is the admin route tried, so a tenant key never meets a refusal.
      const health = await api<{ version?: string }>("GET", "/v1/health", undefined, options);
      let admin = false;
      if (value !== "" && health.version !== undefined) {
        try {
          await api("GET", "/v1/tenants", undefined, options);
          admin = true;
        } catch (error) {
          if (!(error instanceof ApiError) || error.status !== 403) throw error;
        }
      }
      session.signIn(value, admin);
      session.pickTenant(null);
      go("#/overview");
    } catch (error) {
      problem.hidden = false;
      problem.textContent = error instanceof Error ? `Not signed in: ${error.message}` : String(error);
    }
  });
  main.appendChild(form);
  key.focus();
}

async function pickTenant(main: HTMLElement): Promise<void> {
  const { tenants } = await api<{ tenants: { tenant_id: string; name: string | null }[] }>(
    "GET", "/v1/tenants", undefined, { tenant: null },
  );
  const select = h(
    "select",
    { name: "tenant" },
    h("option", { value: "default" }, "default"),
    tenants
      .filter((t) => t.tenant_id !== "default")
      .map((t) => h("option", { value: t.tenant_id }, t.name ? `${t.tenant_id} (${t.name})` : t.tenant_id)),
  );
  const other = h("input", { type: "text", name: "other", autocomplete: "off", pattern: "[A-Za-z0-9_.\\-]{1,64}" });
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "tenant-title" },
    h("h1", { id: "tenant-title" }, "Pick a tenant"),
    h("p", {}, "The admin key acts on one tenant at a time (sent as X-Continuum-Tenant)."),
    field("Tenant", select),
    field("Or another tenant id", other),
    h("button", { type: "submit" }, "Open"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    session.pickTenant(other.value.trim() || select.value);
    go("#/overview");
  });
  main.appendChild(form);
  select.focus();
}

window.addEventListener("hashchange", () => {
  // Move focus to the new content (for screen readers), unless the view focused a control itself.
  route().then(() => {
    if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
  });
});
route();
