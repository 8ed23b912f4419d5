#!/usr/bin/env python3
"""The image's health check: exit 0 when GET /v1/health on the local server answers 200.

Installed as /opt/continuum/bin/continuum-healthcheck so HEALTHCHECK and Compose call one
word with no arguments (podman's Docker-compatible API re-splits CMD arguments at spaces).
"""

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("CONTINUUM_API_PORT", "8420")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"health check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
