"""Cold start of each Lambda handler from the built artifact, against two bare baselines.

For each handler: a fresh Python 3.12 (-I -S: only the unzipped artifact and boto3 on
sys.path, as on Lambda) imports `functions.<name>` and serves its own first request (an
API Gateway v2 event) against a real PostgreSQL; the time is import + first request.
Two baselines, measured in the same run and the same way from the same artifact:
`import` (`import fastapi, mangum`) and `app` (a bare FastAPI + Mangum app: import, build
the app and the Mangum adapter, answer a trivial route through an API Gateway v2 event).
Runs alternate between baselines and handlers; the fastest and the median wall time,
the median CPU time and the ratios to both baselines are printed with the artifact size.

    .venv/bin/python bench/coldstart.py [--runs 7] [--rebuild] [--instructions]

Targets: every handler within 1.4x of the `app` baseline (and 1.5x of `import`);
artifact under 10 MB zipped.

Times on a shared 2-CPU machine move by +-20 % from run to run. `--instructions` adds a
count that does not: each process once under valgrind's callgrind (CPU instructions
executed by the process, interpreter start-up subtracted, hash seed fixed), as a ratio to
the baseline's. It takes about a minute per handler.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from infra.aws import artifact  # noqa: E402
from tests.support.pg import create_database, drop_database  # noqa: E402

BASELINE = """
import time
t = time.perf_counter()
import fastapi, mangum
print("ELAPSED", time.perf_counter() - t)
"""

# A bare FastAPI + Mangum app answering a trivial route: what any FastAPI Lambda pays.
APP = """
import json, os, time
t = time.perf_counter()
from fastapi import FastAPI
from mangum import Mangum
app = FastAPI()
@app.get("/ping")
async def ping() -> dict:
    return {"ok": True}
handler = Mangum(app, lifespan="off")
event = json.loads(os.environ["BENCH_EVENT"])
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
response = handler(event, Context())
elapsed = time.perf_counter() - t
assert response["statusCode"] == 200 and json.loads(response["body"]) == {"ok": True}, response
print("ELAPSED", elapsed)
"""

HANDLER = """
import json, os, time
t = time.perf_counter()
from importlib import import_module
module = import_module("functions." + os.environ["BENCH_HANDLER"])
event = json.loads(os.environ["BENCH_EVENT"])
class Context:
    function_name = "bench"; memory_limit_in_mb = 512; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
response = module.handler(event, Context())
elapsed = time.perf_counter() - t
assert response["statusCode"] < 300, response
print("ELAPSED", elapsed)
warm = []
for _ in range(int(os.environ.get("BENCH_WARM", "0"))):
    t = time.perf_counter()
    module.handler(event, Context())
    warm.append(time.perf_counter() - t)
if warm:
    print("WARM", sorted(warm)[len(warm) // 2])
"""

# Each function's first request: (method, path, JSON body or None, extra headers).
MCP_HOST = {"host": "localhost"}  # /mcp checks the Host header (DNS rebinding); localhost is allowed
REQUESTS: dict[str, tuple[str, str, object, dict[str, str]]] = {
    "health": ("GET", "/v1/health", None, {}),
    "learn": ("POST", "/v1/learn", {"user_message": "Cold start of Orion on Lambda.", "ai_response": "ok"}, {}),
    "recall": ("POST", "/v1/recall", {"message": "Orion"}, {}),
    "turn": ("POST", "/v1/turn", {"user_message": "Orion turn.", "ai_response": "ok"}, {}),
    "memories": ("POST", "/v1/memories", {"content": "cold start memory"}, {}),
    "search": ("POST", "/v1/search", {"query": "Orion"}, {}),
    "entities": ("GET", "/v1/stats", None, {}),
    "admin": ("GET", "/v1/tenants", None, {}),
    # An MCP client's first message on a new connection.
    "mcp": ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}},
        MCP_HOST),
}  # fmt: skip
# mem0-compatible function: its first request is the mem0 client's ping, with a Token key.
if (REPO / "functions" / "mem0.py").is_file():
    REQUESTS["mem0"] = ("GET", "/v1/ping/", None, {"authorization": "Token {key}"})


def event(method: str, path: str, body: object, key: str, headers: dict[str, str] | None = None) -> dict:
    extra = {name: value.format(key=key) for name, value in (headers or {}).items()}
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-api-key": key, **extra},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1",
                           "userAgent": "bench"}, "requestId": "r", "stage": "$default", "accountId": "1",
                           "apiId": "a", "domainName": "d", "time": "t", "timeEpoch": 0},
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }  # fmt: skip


# Public on-demand prices (USD, us-east-1 and eu-west-1, checked for the docs; re-check yours):
LAMBDA_ARM_GB_SECOND = 0.0000133334  # arm64 compute, first 6 billion GB-s a month
LAMBDA_REQUEST = 0.20 / 1e6
HTTP_API_REQUEST = 1.00 / 1e6  # first 300 million a month


def memory_sizes() -> dict[str, int]:
    """memorySize of each function in serverless.yml."""
    text = (REPO / "serverless.yml").read_text()
    pattern = r"^  (\w+):\n(?:    #.*\n)*    handler: functions/\w+\.handler\n    memorySize: (\d+)"
    found = re.findall(pattern, text, re.M)
    return {name: int(size) for name, size in found}


def cost_per_million(memory_mb: int, duration_s: float) -> float:
    billed_ms = max(1, math.ceil(duration_s * 1000))
    compute = memory_mb / 1024 * billed_ms / 1000 * LAMBDA_ARM_GB_SECOND
    return (compute + LAMBDA_REQUEST + HTTP_API_REQUEST) * 1e6


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _value(stdout: str, tag: str) -> float:
    return float(next(line for line in stdout.splitlines() if line.startswith(tag)).split()[1])


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds of the measured part, CPU seconds of the whole child process). CPU time
    is reported beside wall time because it hardly moves when other work shares the CPUs."""
    before = _children_cpu()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return _value(done.stdout, "ELAPSED"), _children_cpu() - before


def warm_duration(command: list[str], env: dict[str, str], cwd: Path, requests: int) -> float:
    done = subprocess.run(command, env={**env, "BENCH_WARM": str(requests)}, cwd=cwd, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return _value(done.stdout, "WARM")


EMPTY = "pass"


def instructions(command: list[str], env: dict[str, str], cwd: Path) -> int:
    """Instructions the process executes, counted by callgrind (repeatable under load)."""
    counted = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command]
    done = subprocess.run(counted, env={**env, "PYTHONHASHSEED": "0"}, cwd=cwd, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))  # type: ignore[union-attr]


def handler_env(env: dict[str, str], name: str, admin: str) -> dict[str, str]:
    method, path, body, headers = REQUESTS[name]
    return {**env, "BENCH_HANDLER": name, "BENCH_EVENT": json.dumps(event(method, path, body, admin, headers))}


def app_env(env: dict[str, str], admin: str) -> dict[str, str]:
    return {**env, "BENCH_EVENT": json.dumps(event("GET", "/ping", None, admin))}


def instruction_ratios(python: str, code: Path, runtime: Path, env: dict[str, str], admin: str) -> list[str]:
    def count(script: str, run_env: dict[str, str]) -> int:
        return instructions(artifact.isolated_command(python, code, runtime, script), run_env, code)

    empty = count(EMPTY, env)
    base = count(BASELINE, env) - empty
    app = count(APP, app_env(env, admin)) - empty
    lines = ["\ninstructions executed (callgrind; interpreter start-up subtracted), one run each:",
             f"{'':<10} {'instructions':>13} {'/ app':>7} {'/ import':>9}",
             f"{'import':<10} {base / 1e6:>11.0f} M {base / app:>6.2f}x {1:>8.2f}x   (import fastapi, mangum)",
             f"{'app':<10} {app / 1e6:>11.0f} M {1:>6.2f}x {app / base:>8.2f}x   (bare app)"]  # fmt: skip
    worst = 0.0
    for name in REQUESTS:
        counted = count(HANDLER, handler_env(env, name, admin)) - empty
        worst = max(worst, counted / app)
        lines.append(f"{name:<10} {counted / 1e6:>11.0f} M {counted / app:>6.2f}x {counted / base:>8.2f}x")
    lines.append(f"worst instruction ratio {worst:.2f}x of the app baseline (target <= 1.4x)")
    return lines


def load_note() -> str:
    one, five, _ = (f"{x:.1f}" for x in os.getloadavg())
    return f"{one} (1 min), {five} (5 min) on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="run `osls package` even if a build exists")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind")
    args = parser.parse_args()
    python = artifact.lambda_python()
    builds = artifact.BUILD
    if args.rebuild or not (builds / "x86_64" / "continuum.zip").is_file():
        artifact.package("x86_64")
    if args.rebuild or not (builds / "arm64" / "continuum.zip").is_file():
        artifact.package("arm64")
    work = Path(tempfile.mkdtemp(prefix="continuum-coldstart-"))
    code = artifact.unzip(builds / "x86_64" / "continuum.zip", work / "task")
    runtime = artifact.runtime_boto3(python)
    url = create_database("continuum_bench")
    admin = "bench-admin-key-0123456789"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "POSTGRES_URL": url, "CONTINUUM_STORAGE": "postgres",
           "CONTINUUM_API_KEY": admin, "CONTINUUM_REQUIRE_API_KEY": "true", "CONTINUUM_LOG_LEVEL": "WARNING",
           "POWERTOOLS_METRICS_NAMESPACE": "Continuum", "AWS_DEFAULT_REGION": "eu-west-1",
           "AWS_LAMBDA_FUNCTION_NAME": "bench"}  # fmt: skip  (Lambda sets it; functions/ pauses the GC for INIT)
    try:
        apply = "from functions import migrate; migrate.handler({}, None)"
        migrate = artifact.isolated_command(python, code, runtime, apply)
        subprocess.run(migrate, env=env, cwd=code, check=True, capture_output=True, timeout=120)
        base_cmd = artifact.isolated_command(python, code, runtime, BASELINE)
        app_cmd = artifact.isolated_command(python, code, runtime, APP)
        handler_cmd = artifact.isolated_command(python, code, runtime, HANDLER)
        timed(base_cmd, env, code)  # warm the OS file cache once, as a deployed image is
        samples: dict[str, list[tuple[float, float]]] = {"import": [], "app": [], **{name: [] for name in REQUESTS}}
        for _ in range(args.runs):
            samples["import"].append(timed(base_cmd, env, code))
            samples["app"].append(timed(app_cmd, app_env(env, admin), code))
            for name in REQUESTS:
                samples[name].append(timed(handler_cmd, handler_env(env, name, admin), code))
        warm = {name: warm_duration(handler_cmd, handler_env(env, name, admin), code, 30) for name in REQUESTS}
        counted = instruction_ratios(python, code, runtime, env, admin) if args.instructions else []
    finally:
        drop_database(url)
    fastest = {name: min(w for w, _ in runs) for name, runs in samples.items()}
    median = {name: statistics.median(w for w, _ in runs) for name, runs in samples.items()}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in samples.items()}
    print(f"Python {python}, {args.runs} runs each; artifact {code}; load average {load_note()}")
    print("wall: import + first request (fastest, median); CPU: whole process (median); ratios to the app baseline")
    print(f"{'':<10} {'fastest':>9} {'ratio':>6} {'median':>9} {'ratio':>6} {'CPU':>9} {'ratio':>6} {'/ import':>9}")
    worst = worst_cpu = 0.0
    for name in samples:
        ratios = fastest[name] / fastest["app"], median[name] / median["app"], cpu[name] / cpu["app"]
        if name in REQUESTS:
            worst, worst_cpu = max(worst, ratios[0]), max(worst_cpu, ratios[2])
        note = {"import": "   (import fastapi, mangum)", "app": "   (bare FastAPI + Mangum app, 1st request)"}
        print(f"{name:<10} {fastest[name] * 1000:>6.1f} ms {ratios[0]:>5.2f}x {median[name] * 1000:>6.1f} ms "
              f"{ratios[1]:>5.2f}x {cpu[name] * 1000:>6.1f} ms {ratios[2]:>5.2f}x "
              f"{median[name] / median['import']:>8.2f}x{note.get(name, '')}")  # fmt: skip
    sizes = memory_sizes()
    print("\nwarm requests (median of 30 after the first, same process) and cost per million requests")
    print("(Lambda arm64 compute at the function's memory + $0.20 Lambda requests + $1.00 HTTP API):")
    for name, seconds in warm.items():
        cost = cost_per_million(sizes[name], seconds)
        cold = median[name] * 1000
        print(f"{name:<10} {seconds * 1000:>7.1f} ms at {sizes[name]:>4} MB  ${cost:.2f}  cold {cold:.0f} ms")
    for arch in ("arm64", "x86_64"):
        size = (builds / arch / "continuum.zip").stat().st_size
        print(f"artifact {arch}: {size / 1e6:.2f} MB zipped ({size} bytes)")
    print(f"worst ratio to the app baseline {worst:.2f}x wall (fastest), {worst_cpu:.2f}x CPU (target <= 1.4x); "
          f"load average {load_note()}")  # fmt: skip
    print("\n".join(counted))


if __name__ == "__main__":
    main()
