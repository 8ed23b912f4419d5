# AWS Lambda: the Serverless Framework (osls, v3 line) and its Python packaging plugin from
# package.json/package-lock.json, Python 3.12 (the Lambda runtime's version) for building the
# artifact, and the Python test tools (moto_server, cfn-lint; installed by 20-python.sh via dev).
command -v npm >/dev/null || { echo "npm is missing: Node.js is needed for osls (apt-get install nodejs npm)" >&2; exit 1; }
lock_stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$lock_stamp" ]; then
  echo "installing osls and serverless-python-requirements (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$lock_stamp"
fi
npx --no-install osls --version >/dev/null || { echo "osls is not runnable after npm ci" >&2; exit 1; }

if [ -z "${LAMBDA_PYTHON:-}" ]; then
  for candidate in "$(command -v python3.12 || true)" $(ls -d "$HOME"/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -r); do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      export LAMBDA_PYTHON="$candidate"
      break
    fi
  done
fi
[ -n "${LAMBDA_PYTHON:-}" ] || { echo "Python 3.12 (the Lambda runtime) is missing: install it and set LAMBDA_PYTHON" >&2; exit 1; }
"$LAMBDA_PYTHON" -m pip --version >/dev/null || { echo "$LAMBDA_PYTHON has no pip" >&2; exit 1; }
[ -x .venv/bin/moto_server ] && [ -x .venv/bin/cfn-lint ] \
  || { echo "moto_server / cfn-lint missing from .venv (pip install -e '.[dev]')" >&2; exit 1; }
echo "lambda: osls $(npx --no-install osls --version 2>/dev/null | sed -n 's/.*osls version: //p'), python $("$LAMBDA_PYTHON" -V 2>&1)"
