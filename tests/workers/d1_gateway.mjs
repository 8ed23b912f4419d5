// Wrangler's real local D1 (miniflare/workerd), reached through a small gateway Worker.
//
// The D1 bindings come from the project's wrangler config exactly as wrangler builds them
// for `wrangler dev` / getPlatformProxy (unstable_getMiniflareWorkerOptions), persisted where
// `wrangler d1 migrations apply --local --persist-to DIR` writes (DIR/v3).
//
// Why a gateway rather than getPlatformProxy's env.DB: that proxy turns every prepare() and
// bind() into a cross-process RPC (30-40 ms each here), while a Worker builds statements
// locally and crosses to D1 once per all()/first()/run()/raw()/batch(). The gateway runs
// inside workerd, so bind() validation, result shaping and errors are D1's own JS API; one
// call here is one D1 round trip, as in production.
//
// Values cross as JSON: null is SQL NULL, {"$undefined": true} JavaScript undefined,
// {"$bytes": [...]} a Uint8Array, {"$object": {...}} a plain object.
import path from "node:path";
import { importPackage } from "./deps.mjs";

const GATEWAY = `
function decode(value) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    if (value.$undefined) return undefined;
    if (value.$bytes) return new Uint8Array(value.$bytes);
    if (value.$object) return value.$object;
  }
  return value;
}
function encode(value) {
  if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  return value === undefined ? { $undefined: true } : value;
}
function statement(db, s) {
  const prepared = db.prepare(s.sql);
  return s.params && s.params.length ? prepared.bind(...s.params.map(decode)) : prepared;
}
async function run(db, q) {
  switch (q.op) {
    case "all": return statement(db, q).all();
    case "run": return statement(db, q).run();
    case "first": return q.column == null ? statement(db, q).first() : statement(db, q).first(q.column);
    case "raw": return statement(db, q).raw({ columnNames: Boolean(q.columnNames) });
    case "batch": return db.batch(q.statements.map((s) => statement(db, s)));
    case "exec": return db.exec(q.sql);
    default: throw new Error("unknown op " + q.op);
  }
}
export default {
  async fetch(request, env) {
    const q = await request.json();
    try {
      const value = await run(env[q.binding], q);
      return Response.json({ ok: true, value: encode(value ?? null) });
    } catch (error) {
      return Response.json({ ok: false, error: String(error?.message ?? error) });
    }
  },
};
`;

export async function startD1Gateway({ configPath, persistTo }) {
  const wrangler = await importPackage("wrangler");
  const miniflare = await importPackage("miniflare");
  const { workerOptions } = wrangler.unstable_getMiniflareWorkerOptions(configPath, undefined, { envFiles: [] });
  const d1Databases = workerOptions.d1Databases ?? {};
  const mf = new miniflare.Miniflare(
    miniflare.convertV4MiniflareOptions({
      rootPath: path.dirname(configPath),
      workers: [{
        name: "continuum-d1-gateway",
        script: GATEWAY,
        modules: true,
        compatibilityDate: workerOptions.compatibilityDate,
        d1Databases,
      }],
      resourcePersistencePath: path.join(persistTo, "v3"),
    }),
  );
  const url = await mf.ready;
  return {
    d1Names: Object.keys(d1Databases),
    vars: Object.fromEntries(Object.entries(workerOptions.bindings ?? {}).filter(([, v]) => typeof v === "string")),
    // One D1 request: {binding, op, sql?, params?, column?, columnNames?, statements?} -> {ok, value|error}
    async call(request) {
      const response = await fetch(url, { method: "POST", body: JSON.stringify(request) });
      return response.json();
    },
    dispose: () => mf.dispose(),
  };
}

// JS-side values as the gateway's JSON (what the real bind() will be given).
export function encodeParam(value) {
  if (value === undefined) return { $undefined: true };
  if (value instanceof ArrayBuffer) return { $bytes: Array.from(new Uint8Array(value)) };
  if (ArrayBuffer.isView(value)) return { $bytes: Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
  if (value !== null && (typeof value === "object" || typeof value === "function") && !Array.isArray(value)) {
    return { $object: {} };
  }
  return value;
}

export function decodeValue(value) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    if (value.$undefined === true && Object.keys(value).length === 1) return undefined;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeValue(v)]));
  }
  if (Array.isArray(value)) return value.map(decodeValue);
  return value;
}

// The D1 binding a Worker sees: statements are built locally, each call is one D1 round trip.
// Class names match workerd's, as the workers SDK picks conversions by constructor name.
export class D1PreparedStatement {
  constructor(database, sql, params = []) {
    this.database = database;
    this.sql = sql;
    this.params = params;
  }
  bind(...values) { return new D1PreparedStatement(this.database, this.sql, values.map(encodeParam)); }
  first(column) { return this.database.send({ op: "first", sql: this.sql, params: this.params, column: column ?? null }); }
  all() { return this.database.send({ op: "all", sql: this.sql, params: this.params }); }
  run() { return this.database.send({ op: "run", sql: this.sql, params: this.params }); }
  raw(options) {
    return this.database.send({ op: "raw", sql: this.sql, params: this.params, columnNames: Boolean(options?.columnNames) });
  }
}

export class D1Database {
  constructor(gateway, binding) {
    this.gateway = gateway;
    this.binding = binding;
  }
  async send(request) {
    const answer = await this.gateway.call({ binding: this.binding, ...request });
    if (!answer.ok) throw new Error(answer.error);
    return decodeValue(answer.value);
  }
  prepare(sql) { return new D1PreparedStatement(this, sql); }
  batch(statements) {
    return this.send({ op: "batch", statements: Array.from(statements, (s) => ({ sql: s.sql, params: s.params })) });
  }
  exec(sql) { return this.send({ op: "exec", sql }); }
}
