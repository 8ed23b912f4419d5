# Browser tests (tests/browser): Debian's Chromium, driven by Playwright's Python driver (the
# dev extra; `playwright install` downloads a browser and cannot run here), and the console's
# npm dependencies from its lock file: its build tools (a test rebuilds the console and
# compares with the committed files) and axe-core, which the tests inject into each page.
browser_fail() { echo "80-browser: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null; then
  echo "installing chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null \
    || browser_fail "could not install chromium (Debian package)"
fi
[ -x /usr/bin/chromium ] || browser_fail "/usr/bin/chromium is missing after apt-get install"

if ! .venv/bin/python -c "import playwright.sync_api" 2>/dev/null; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 .venv/bin/python -m pip install -q "playwright>=1.50" \
    || browser_fail "could not install the playwright driver (PyPI)"
fi

console_stamp="console/node_modules/.lock-$(sha256sum console/package-lock.json | cut -c1-16)"
if [ ! -f "$console_stamp" ]; then
  (cd console && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || browser_fail "npm ci in console/ failed"
  touch "$console_stamp"
fi
[ -f console/node_modules/axe-core/axe.min.js ] || browser_fail "axe-core is missing after npm ci in console/"
