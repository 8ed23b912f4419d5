// The offline stand-in for `wrangler dev`: the real Worker entry (wrangler/src/worker.py) in
// Pyodide on Node, with wrangler's real local D1 (miniflare/workerd), served over HTTP.
//
//   node harness.mjs --port 8787 --persist-to DIR [--config wrangler.toml]
//                    [--python-modules DIR] [--src DIR] [--test-scheduled]
//
// Every CONTINUUM_*, UPSTASH_REDIS_REST_* and STRIPE_* variable of this process becomes a Worker var.
// `wrangler/serve-local` is the command people use; it applies the migrations first.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { parseArgs } from "node:util";
import { D1Database, startD1Gateway } from "./d1_gateway.mjs";
import { REPO, WRANGLER_DIR, importPackage } from "./deps.mjs";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    host: { type: "string", default: "127.0.0.1" },
    config: { type: "string", default: path.join(WRANGLER_DIR, "wrangler.toml") },
    "persist-to": { type: "string" },
    "python-modules": { type: "string", default: path.join(WRANGLER_DIR, "python_modules") },
    src: { type: "string", default: path.join(WRANGLER_DIR, "src") },
    "test-scheduled": { type: "boolean", default: false },
  },
});
const started = Date.now();
const log = (message) => process.stderr.write(`[harness +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

// ---- bindings: wrangler's real local D1 (see d1_gateway.mjs), vars, a Workers AI stand-in ----
// There is no local Workers AI. This stand-in answers the embedding models' shape
// ({shape, data}) with deterministic hashed bag-of-words vectors, so the Worker's
// Workers AI path runs end to end; its numbers say nothing about a real model.
class Ai {
  async run(model, inputs) {
    if (!model.startsWith("@cf/baai/bge-")) throw new Error(`AiError: model ${model} has no local stand-in`);
    const dims = model.includes("large") ? 1024 : model.includes("base") ? 768 : 384;
    const texts = Array.isArray(inputs.text) ? inputs.text : [inputs.text];
    const data = texts.map((text) => {
      const vector = new Array(dims).fill(0);
      for (const word of String(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
        let h = 2166136261;
        for (const ch of word) h = Math.imul(h ^ ch.codePointAt(0), 16777619);
        vector[(h >>> 0) % dims] += 1;
      }
      return vector;
    });
    return { shape: [data.length, dims], data, pooling: "mean" };
  }
}

const persistTo = args["persist-to"];
if (!persistTo) throw new Error("--persist-to DIR is required (the same directory `wrangler d1 migrations apply --persist-to` used)");
const gateway = await startD1Gateway({ configPath: args.config, persistTo });
const env = { ...gateway.vars };
for (const name of gateway.d1Names) env[name] = new D1Database(gateway, name);
env.AI = new Ai();
for (const [name, value] of Object.entries(process.env)) {
  if (name.startsWith("CONTINUUM_") || name.startsWith("UPSTASH_REDIS_REST_") || name.startsWith("STRIPE_")) env[name] = value;
}
log(`local D1 ready: ${Object.keys(env).filter((k) => typeof env[k] !== "string").join(", ")} bindings`);

// ---- Pyodide with the vendored modules and stand-ins for the runtime-only JS modules ---------
const pyodideModule = await importPackage("pyodide");
const loadPyodide = pyodideModule.loadPyodide ?? pyodideModule.default.loadPyodide;
const pyodide = await loadPyodide({
  stdout: (line) => process.stderr.write(line + "\n"),  // stdout carries only the READY line
  stderr: (line) => process.stderr.write(line + "\n"),
});
const mounts = { "/session/python_modules": args["python-modules"], "/session/metadata": args.src, "/session/harness": path.join(REPO, "tests", "workers") };
for (const [target, source] of Object.entries(mounts)) {
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist (run wrangler/vendor?)`);
  pyodide.FS.mkdirTree(target);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: source }, target);
}
// waitUntil gets Python futures as borrowed proxies, destroyed when the call returns:
// subscribe to them now (the runtime's patched waitUntil does the same).
const pending = new Set();
function waitUntil(value) {
  const promise = new Promise((resolve, reject) => value.then(resolve, reject));
  pending.add(promise);
  promise.catch((error) => log(`waitUntil task failed: ${error?.message ?? error}`)).finally(() => pending.delete(promise));
}
const cloudflareWorkers = { env, waitUntil };
pyodide.registerJsModule("_pyodide_entrypoint_helper", {
  cloudflareWorkersModule: cloudflareWorkers,
  cloudflareSocketsModule: {},
  doAnImport: (name) => import(name),
  patchWaitUntil: () => {},
  patch_env_helper: () => {},
});
const flags = new Set(String(fs.readFileSync(args.config, "utf8")).match(/compatibility_flags\s*=\s*\[([^\]]*)\]/)?.[1].match(/[\w-]+/g) ?? []);
pyodide.registerJsModule("_cloudflare_compat_flags", new Proxy({}, { get: (_, name) => flags.has(String(name)) }));
await pyodide.runPythonAsync(`
import site, sys
site.addsitedir("/session/python_modules")
sys.path.insert(0, "/session/harness")
`);
const standins = pyodide.pyimport("runtime_standins");
const Entry = standins.install("/session/metadata");
log("worker module imported");

// ---- HTTP ------------------------------------------------------------------------------------
function context() {
  return { waitUntil, passThroughOnException: () => {}, props: {} };
}

async function toRequest(req, body) {
  const url = `http://${req.headers.host ?? `${args.host}:${args.port}`}${req.url}`;
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const init = { method: req.method, headers };
  if (body.length && req.method !== "GET" && req.method !== "HEAD") init.body = body;
  return new Request(url, init);
}

async function serve(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const url = new URL(req.url, "http://local");
  if (args["test-scheduled"] && url.pathname === "/__scheduled") {
    const controller = { cron: url.searchParams.get("cron") ?? "*/15 * * * *", scheduledTime: Date.now(), type: "scheduled", noRetry() {} };
    await standins.scheduled(Entry, controller, env, context());
    res.writeHead(200, { "content-type": "text/plain" }).end("Ran scheduled event\n");
    return;
  }
  const response = await standins.fetch(Entry, await toRequest(req, body), env, context());
  const headers = {};
  response.headers.forEach((value, name) => { headers[name] = name in headers ? `${headers[name]}, ${value}` : value; });
  const payload = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers);
  res.end(payload);
}

const server = http.createServer((req, res) => {
  serve(req, res).catch((error) => {
    log(`request failed: ${error?.stack ?? error}`);
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end(`harness error: ${error?.message ?? error}\n`);
  });
});
server.keepAliveTimeout = 65_000;
await new Promise((resolve) => server.listen(Number(args.port), args.host, resolve));
const base = `http://${args.host}:${args.port}`;
const warm = await fetch(`${base}/v1/health`);
await warm.arrayBuffer();
log(`first response ${warm.status}`);
process.stdout.write(`READY ${base}\n`);

async function shutdown() {
  server.close();
  await Promise.allSettled([...pending]);
  await gateway.dispose();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("unhandledRejection", (error) => log(`unhandled rejection: ${error?.stack ?? error}`));
process.on("SIGINT", shutdown);
