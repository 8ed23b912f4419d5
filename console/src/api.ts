// The API as the console uses it. The key lives in sessionStorage only (gone when the tab
// closes), is sent as a header and never appears in a URL.

const KEY = "continuum.console.key";
const TENANT = "continuum.console.tenant";
const ADMIN = "continuum.console.admin";

export const session = {
  get key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  get tenant(): string | null {
    return sessionStorage.getItem(TENANT);
  },
  get admin(): boolean {
    return sessionStorage.getItem(ADMIN) === "1";
  },
  signIn(key: string, admin: boolean): void {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(ADMIN, admin ? "1" : "0");
  },
  pickTenant(tenant: string | null): void {
    if (tenant) sessionStorage.setItem(TENANT, tenant);
    else sessionStorage.removeItem(TENANT);
  },
  signOut(): void {
    for (const name of [KEY, TENANT, ADMIN]) sessionStorage.removeItem(name);
  },
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function headers(extra: Record<string, string> = {}, key = session.key, tenant = session.tenant): Headers {
  const out = new Headers(extra);
  if (key) out.set("X-API-Key", key);
  if (tenant) out.set("X-Continuum-Tenant", tenant);
  return out;
}

async function failure(response: Response): Promise<ApiError> {
  let code = "error";
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    } else if (typeof body?.detail === "string") {
      message = body.detail;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string | null; tenant?: string | null } = {},
): Promise<T> {
  const init: RequestInit = {
    method,
    headers: headers(
      body === undefined ? {} : { "Content-Type": "application/json" },
      options.key === undefined ? session.key : options.key,
      options.tenant === undefined ? session.tenant : options.tenant,
    ),
    cache: "no-store",
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export { failure };

// ---- the shapes the console reads ---------------------------------------------------------

export interface Memory {
  id: string;
  content: string;
  role: string;
  instance_id: string | null;
  session_id: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
}

export interface MemoryList {
  memories: Memory[];
  next_cursor: string | null;
}

export interface Parts {
  lexical: number;
  graph: number;
  dense: number;
  context: number;
  time: number;
  recency: number;
}

export interface Explanation {
  parts: Parts;
  signals: Parts;
  cosine: number;
}

export interface Scored {
  id: string;
  content: string;
  role: string;
  score: number;
  created_at: string;
  session_id: string | null;
  instance_id: string | null;
  concepts?: string[];
  explain?: Explanation;
}

export interface Recall {
  context: string;
  memories: Scored[];
  concepts_found: string[];
  relationships_found: { source: string; target: string; strength: number }[];
  query_time_ms: number;
}

export interface Stats {
  tenant_id: string;
  entities: number;
  messages: number;
  decisions: number;
  attention_links: number;
  memories: number;
}

export interface Entity {
  name: string;
  entity_type: string;
  mention_count: number;
  created_at: string;
  last_seen_at: string;
}

export interface EntityDetail extends Entity {
  links: { concept: string; strength: number; occurrences: number }[];
}

export interface HistoryEntry {
  id: string;
  event: string;
  old_memory: string | null;
  new_memory: string | null;
  created_at: string;
}

export const PART_NAMES: (keyof Parts)[] = ["lexical", "graph", "dense", "context", "time", "recency"];
