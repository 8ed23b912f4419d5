# mem0ai 1.x (the last 1.x release) in an environment of its own, beside the 2.x the main
# environment has: tests/e2e/mem0_scenarios.py runs it as a subprocess against the routes
# 1.x clients call (POST /v1/memories/, POST /v2/memories/, POST /v2/memories/search/).
MEM0_1X_VENV="${MEM0_1X_VENV:-.venv-mem0-1x}"
if [ ! -x "$MEM0_1X_VENV/bin/python" ] || ! "$MEM0_1X_VENV/bin/python" -c "import mem0" 2>/dev/null; then
  python3 -m venv "$MEM0_1X_VENV"
  "$MEM0_1X_VENV/bin/python" -m pip install -q "mem0ai==1.0.11"
fi
MEM0_TELEMETRY=False "$MEM0_1X_VENV/bin/python" -c "import mem0; assert mem0.__version__.startswith('1.')" \
  || { echo "mem0ai 1.x is missing from $MEM0_1X_VENV" >&2; exit 1; }
