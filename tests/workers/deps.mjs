// Node packages come from wrangler/node_modules (wrangler/package.json pins them).
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const WRANGLER_DIR = path.join(REPO, "wrangler");
const require = createRequire(path.join(WRANGLER_DIR, "package.json"));

export async function importPackage(name) {
  return import(pathToFileURL(require.resolve(name)).href);
}

export function packageDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`));
}
