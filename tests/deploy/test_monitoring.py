"""infra/monitoring: promtool checks the scrape config and rules and runs the rules' unit
tests; every metric the dashboard and the CONTINUUM alerts name is in a real server's
/metrics output; the Logstash/Filebeat snippets parse the server's real log lines."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.deploy.tools import REPO, run, tool
from tests.support.servers import RunningServer, SqliteTarget

MONITORING = REPO / "infra" / "monitoring"
PROMETHEUS = MONITORING / "prometheus"
DASHBOARD = MONITORING / "grafana" / "continuum-dashboard.json"
METRIC = re.compile(r"\b(continuum_[a-z_]+)")


def _with_local_key_file(config: Path, tmp_path: Path) -> Path:
    """The config as shipped, with the admin key file it names pointed at a temporary one
    (promtool checks that credential files exist)."""
    (tmp_path / "continuum-admin-key").write_text("admin-key\n")
    text = config.read_text().replace("/etc/prometheus/continuum-admin-key", str(tmp_path / "continuum-admin-key"))
    target = tmp_path / config.name
    target.write_text(text)
    shutil.copy(PROMETHEUS / "continuum.rules.yml", tmp_path / "continuum.rules.yml")
    return target


def test_promtool_check_config(tmp_path: Path) -> None:
    config = _with_local_key_file(PROMETHEUS / "prometheus.yml", tmp_path)
    done = run([tool("promtool"), "check", "config", str(config)])
    assert "SUCCESS" in done.stdout


def test_kubernetes_scrape_config(tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes service discovery, so promtool rejects
    `kubernetes_sd_configs` there ("field kubernetes_sd_configs not found in type
    config.ScrapeConfig"). The nearest real check: the same job with static targets in
    place of discovery, whose relabelling promtool then checks, regexes included."""
    shipped = yaml.safe_load((PROMETHEUS / "prometheus-kubernetes.yml").read_text())
    job = next(j for j in shipped["scrape_configs"] if j["job_name"] == "continuum-kubernetes")
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["continuum"]}}]
    config = _with_local_key_file(PROMETHEUS / "prometheus-kubernetes.yml", tmp_path)
    done = run([tool("promtool"), "check", "config", str(config)], check=False)
    if done.returncode != 0:
        assert "kubernetes_sd_configs not found" in done.stdout + done.stderr
    job["static_configs"] = [{"targets": ["10.0.0.1:8420"]}]
    del job["kubernetes_sd_configs"]
    job["authorization"]["credentials_file"] = str(tmp_path / "continuum-admin-key")
    (tmp_path / "static.yml").write_text(yaml.safe_dump(shipped))
    run([tool("promtool"), "check", "config", str(tmp_path / "static.yml")])


def test_promtool_check_and_test_rules() -> None:
    checked = run([tool("promtool"), "check", "rules", str(PROMETHEUS / "continuum.rules.yml")])
    assert "SUCCESS: 6 rules found" in checked.stdout
    tested = run([tool("promtool"), "test", "rules", "continuum.rules.test.yml"], cwd=PROMETHEUS)
    assert "SUCCESS" in tested.stdout + tested.stderr


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    rules = yaml.safe_load((PROMETHEUS / "continuum.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"HighErrorRate", "HighLatency", "LowCacheHitRate", "DatabaseDown", "InstanceDown"} <= alerts
    cases = yaml.safe_load((PROMETHEUS / "continuum.rules.test.yml").read_text())["tests"]
    fired, quiet = set(), set()
    for case in cases:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fired == alerts and quiet == alerts


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    running = SqliteTarget().start(require_api_key=True, extra_env={"CONTINUUM_LOG_LEVEL": "INFO"})
    yield running
    running.stop()


def _exported(server: RunningServer) -> set[str]:
    _, tenant = server.new_tenant()
    with tenant:
        tenant.post("/v1/learn", json={"user_message": "Orion runs on FastAPI and PostgreSQL", "ai_response": "ok"})
        for _ in range(2):  # a miss, then a hit
            assert tenant.post("/v1/recall", json={"message": "What does Orion run on?"}).status_code == 200
    with server.client(**{"Authorization": f"Bearer {server.admin_key}"}) as admin:  # Prometheus sends Bearer
        text = admin.get("/metrics").text
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    assert 'continuum_cache_requests_total{result="hit"}' in text
    return names


def test_the_dashboard_and_alerts_name_only_exported_metrics(server: RunningServer) -> None:
    exported = _exported(server)
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    named = {m for e in expressions for m in METRIC.findall(e)}
    named |= set(METRIC.findall((PROMETHEUS / "continuum.rules.yml").read_text()))
    assert named, "no metric found in the dashboard"
    missing = sorted(named - exported)
    assert missing == [], f"named but not exported: {missing}; exported: {sorted(exported)}"
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("requests", "latency", "cache hit rate", "memories stored"):
        assert topic in titles
    assert any("histogram_quantile(0.95" in e for e in expressions)


def test_log_lines_carry_the_fields_the_log_pipeline_reads(server: RunningServer) -> None:
    """Filebeat decodes each line as JSON and Logstash renames level/request_id and parses
    the ISO timestamp: the server's real access lines have exactly those fields."""
    with server.client() as anonymous:
        anonymous.get("/v1/health")
    lines = [json.loads(line) for line in server.process.logs().splitlines() if line.startswith("{")]
    assert lines, "the server wrote no JSON log line"
    for record in lines:
        assert {"timestamp", "level", "message", "logger", "request_id", "tenant_id"} <= set(record)
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", record["timestamp"])
    logstash = (MONITORING / "logging" / "logstash.conf").read_text()
    for field in ("[continuum][timestamp]", "[continuum][level]", "[continuum][request_id]"):
        assert field in logstash
    filebeat = yaml.safe_load((MONITORING / "logging" / "filebeat.yml").read_text())
    assert any("decode_json_fields" in p for p in filebeat["filebeat.inputs"][0]["processors"])
