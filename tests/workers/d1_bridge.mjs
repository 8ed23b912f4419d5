// The real local D1 of wrangler, driven by JSON lines (for Python: tests/support/d1_local.py).
//
//   node d1_bridge.mjs --config wrangler.toml --persist-to DIR [--binding DB]
//
// Each stdin line is one request {id, op, ...} (see d1_gateway.mjs for ops and value
// encoding); each stdout line one answer {id, ok: true, value} or {id, ok: false, error}.
import readline from "node:readline";
import { parseArgs } from "node:util";
import { startD1Gateway } from "./d1_gateway.mjs";

const { values: args } = parseArgs({
  options: { config: { type: "string" }, "persist-to": { type: "string" }, binding: { type: "string", default: "DB" } },
});
const gateway = await startD1Gateway({ configPath: args.config, persistTo: args["persist-to"] });
if (!gateway.d1Names.includes(args.binding)) throw new Error(`no D1 binding ${args.binding} in ${args.config}`);

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  const request = JSON.parse(line);
  queue = queue.then(async () => {
    try {
      out({ id: request.id, ...(await gateway.call({ binding: args.binding, ...request })) });
    } catch (error) {
      out({ id: request.id, ok: false, error: String(error?.message ?? error) });
    }
  });
});
lines.on("close", async () => {
  await queue;
  await gateway.dispose();
  process.exit(0);
});
out({ ready: true });
