// The real local D1 of wrangler (miniflare, through getPlatformProxy), driven by JSON lines.
//
//   node d1_bridge.mjs --config wrangler.toml --persist DIR
//
// Each stdin line is one request {id, op, ...}; each stdout line one answer
// {id, ok: true, value} or {id, ok: false, error}. Values cross as JSON: null is SQL
// NULL, {"$undefined": true} is JavaScript undefined, {"$bytes": [...]} a Uint8Array,
// {"$object": {...}} a plain object (so the caller can see what D1 does with each).
import readline from "node:readline";
import { parseArgs } from "node:util";
import { importPackage } from "./deps.mjs";

const { values: args } = parseArgs({
  options: { config: { type: "string" }, persist: { type: "string" }, binding: { type: "string", default: "DB" } },
});
const { getPlatformProxy } = await importPackage("wrangler");
const proxy = await getPlatformProxy({
  configPath: args.config,
  persist: { path: args.persist },
  envFiles: [],
  remoteBindings: false,
});
const db = proxy.env[args.binding];

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
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value === undefined ? { $undefined: true } : value;
}

function statement(sql, params) {
  const prepared = db.prepare(sql);
  return params && params.length ? prepared.bind(...params.map(decode)) : prepared;
}

async function handle(request) {
  switch (request.op) {
    case "all":
      return statement(request.sql, request.params).all();
    case "run":
      return statement(request.sql, request.params).run();
    case "first":
      return request.column === undefined || request.column === null
        ? statement(request.sql, request.params).first()
        : statement(request.sql, request.params).first(request.column);
    case "raw":
      return statement(request.sql, request.params).raw({ columnNames: Boolean(request.columnNames) });
    case "batch":
      return db.batch(request.statements.map((s) => statement(s.sql, s.params)));
    case "exec":
      return db.exec(request.sql);
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  const request = JSON.parse(line);
  queue = queue.then(async () => {
    try {
      const value = await handle(request);
      out({ id: request.id, ok: true, value: encode(value ?? null) });
    } catch (error) {
      out({ id: request.id, ok: false, error: String(error?.message ?? error) });
    }
  });
});
lines.on("close", async () => {
  await queue;
  await proxy.dispose();
  process.exit(0);
});
out({ ready: true });
