"""Build the Lambda artifact offline with the Serverless Framework (osls), and prepare an
interpreter that sees only the unzipped artifact and boto3, as the Lambda runtime does.
Used by tests/lambda/test_artifact.py and bench/coldstart.py."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".serverless-builds"
HANDLERS = ("health", "learn", "recall", "turn", "memories", "search", "entities", "admin")


def lambda_python() -> str:
    """Python 3.12, the Lambda runtime's version: LAMBDA_PYTHON, python3.12, or pyenv's."""
    candidates = [os.environ.get("LAMBDA_PYTHON", ""), shutil.which("python3.12") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True)
    for candidate in filter(None, candidates):
        probe = subprocess.run(  # noqa: S603 - our own interpreter candidates
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True, text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    raise RuntimeError("Python 3.12 not found: set LAMBDA_PYTHON (see .ci/setup.d/40-lambda.sh)")


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    """One build at a time per checkout: osls works in the shared .serverless/ directory."""
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def package(arch: str, *, stage: str = "test", out: Path | None = None) -> Path:
    """`npx osls package` for one architecture into `out` (default .serverless-builds/<arch>);
    returns that directory, holding the zip and the CloudFormation templates."""
    with _exclusive():
        return _package(arch, stage, out or BUILD / arch)


def _package(arch: str, stage: str, out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "LAMBDA_PYTHON": lambda_python()}
    command = ["npx", "--no-install", "osls", "package", "--stage", stage, "--param", f"arch={arch}",
               "--package", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)  # noqa: S603
    if done.returncode != 0 or not (out / "continuum.zip").is_file():
        raise RuntimeError(f"osls package ({arch}) failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return out


def unzip(zip_path: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(target)
    return target


def runtime_boto3(python: str) -> Path:
    """boto3 alone in a directory (what the Lambda Python runtime provides beside the code)."""
    target = BUILD / "runtime-boto3"
    with _exclusive():
        if not (target / "boto3").is_dir():
            _install_boto3(python, target)
    return target


def _install_boto3(python: str, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(  # noqa: S603
        [python, "-m", "pip", "install", "--quiet", "--target", str(target), "boto3"],
        check=True, timeout=600,
    )


def isolated_command(python: str, code_dir: Path, runtime_dir: Path, script: str) -> list[str]:
    """Run `script` with no site-packages (-I -S): sys.path is the code, then boto3."""
    prelude = f"import sys; sys.path[:0] = [{str(code_dir)!r}, {str(runtime_dir)!r}]\n"
    return [python, "-I", "-S", "-c", prelude + script]
