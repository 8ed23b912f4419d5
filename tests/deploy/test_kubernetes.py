"""Kubernetes manifests and the Helm chart: rendered (kubectl kustomize, helm template with
default and production values), linted (helm lint, yamllint), validated against the API
schemas of a current Kubernetes (kubernetes-validate --strict) and scanned by checkov, whose
every finding is fixed or justified in a checkov.io/skip annotation. No cluster can run
here, so `kubectl apply` itself is not exercised (it needs an API server even with
--dry-run=client)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.tools import REPO, run, tool

K8S = REPO / "infra" / "k8s"
CHART = REPO / "infra" / "helm" / "continuum"
KUBERNETES_VERSION = "1.37.0"  # the newest schemas kubernetes-validate ships
VALUES = {"default": [], "production": ["-f", str(CHART / "values-production.yaml")]}


def _helm(*args: str) -> str:
    return run([tool("helm"), *args]).stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("rendered")
    files = {"kustomize": out / "kustomize.yaml"}
    files["kustomize"].write_text(run([tool("kubectl"), "kustomize", str(K8S)]).stdout)
    for name, extra in VALUES.items():
        files[name] = out / f"chart-{name}.yaml"
        files[name].write_text(_helm("template", "continuum", str(CHART), "-n", "continuum", *extra))
    return files


def _documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("values", list(VALUES))
def test_helm_lint(values: str) -> None:
    out = _helm("lint", str(CHART), "--strict", *VALUES[values])
    assert "0 chart(s) failed" in out


def test_manifests_and_rendered_chart_pass_kubernetes_validate_strict(rendered: dict[str, Path]) -> None:
    files = sorted(str(p) for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    done = run([tool("kubernetes-validate"), "--strict", "-k", KUBERNETES_VERSION, "--quiet", *files,
                *(str(p) for p in rendered.values())], check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint(rendered: dict[str, Path]) -> None:
    run([tool("yamllint"), "-s", "-c", str(REPO / ".yamllint.yml"), "infra/k8s", "infra/helm", "infra/monitoring",
         "docker-compose.yml", *(str(p) for p in rendered.values())])  # fmt: skip


def test_checkov_finds_nothing_unjustified(rendered: dict[str, Path], tmp_path: Path) -> None:
    scan = tmp_path / "scan"
    scan.mkdir()
    for path in K8S.glob("*.yaml"):
        if path.name != "kustomization.yaml":
            shutil.copy(path, scan / f"k8s-{path.name}")
    for path in rendered.values():
        shutil.copy(path, scan / path.name)
    shutil.copy(REPO / "infra" / "docker" / "Dockerfile", scan / "Dockerfile")
    done = run([tool("checkov"), "-d", str(scan), "--framework", "kubernetes", "dockerfile", "--skip-download",
                "--compact", "--quiet"], check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:]
    assert "Failed checks: 0" in done.stdout


def _pod_specs(path: Path) -> dict[str, dict]:
    specs = {}
    for doc in _documents(path):
        template = doc.get("spec", {}).get("template")
        if template:
            specs[f"{doc['kind']}/{doc['metadata']['name']}"] = template["spec"]
    return specs


@pytest.mark.parametrize("source", ["kustomize", "default", "production"])
def test_continuum_pods_are_restricted_and_probed(rendered: dict[str, Path], source: str) -> None:
    specs = {k: v for k, v in _pod_specs(rendered[source]).items() if "postgresql" not in k and "redis" not in k}
    assert any(k.startswith("Deployment/") for k in specs) and any(k.startswith("Job/") for k in specs)
    for name, spec in specs.items():
        assert spec["enableServiceLinks"] is False, name  # CONTINUUM_SERVICE_HOST would stop start-up
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["limits"] and container["resources"]["requests"]
            if name.startswith("Deployment/"):
                assert container["readinessProbe"]["httpGet"]["path"] == "/v1/health"
                assert "tcpSocket" in container["livenessProbe"]


def test_production_values_use_external_databases_and_autoscale(rendered: dict[str, Path]) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _documents(rendered["production"])}
    assert ("HorizontalPodAutoscaler", "continuum") in kinds and ("Ingress", "continuum") in kinds
    assert not any(kind == "StatefulSet" for kind, _ in kinds)
    assert not any(kind == "Secret" for kind, _ in kinds)  # existingSecret
    hpa = next(d for d in _documents(rendered["production"]) if d["kind"] == "HorizontalPodAutoscaler")
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}


def test_external_databases_without_urls_are_refused() -> None:
    done = run([tool("helm"), "template", "continuum", str(CHART), "--set", "postgresql.enabled=false"], check=False)
    assert done.returncode != 0 and "externalDatabase.url is required" in done.stderr


def test_network_policy_lets_in_only_the_ingress_controller_and_out_only_the_databases(
    rendered: dict[str, Path],
) -> None:
    for source in ("kustomize", "default"):
        policy = next(d for d in _documents(rendered[source])
                      if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "continuum")  # fmt: skip
        sources = policy["spec"]["ingress"][0]["from"]
        assert [s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for s in sources] == [
            "ingress-nginx"
        ]
        ports = sorted(p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"])
        assert ports == [53, 53, 5432, 6379]


def test_a_kubernetes_service_link_variable_would_stop_the_server() -> None:
    """Why every pod sets enableServiceLinks: false. A Service named `continuum` makes the
    kubelet inject CONTINUUM_PORT=tcp://..., and an unknown CONTINUUM_* variable is an error."""
    env = {**os.environ, "CONTINUUM_PORT": "tcp://10.0.0.1:80", "CONTINUUM_SERVICE_HOST": "10.0.0.1"}
    code = "from continuum.settings import load_settings; load_settings()"
    done = subprocess.run([os.sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "unknown setting CONTINUUM_" in done.stderr
