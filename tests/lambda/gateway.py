"""A local HTTP front for one Lambda function, as API Gateway's HTTP API is: each request
becomes an HTTP API (v2) event for the function's real handler, invoked in this process's
main thread as the Lambda runtime does; the handler's answer goes back as the response.
For clients that can only speak HTTP (mem0ai's). Run: python -m tests.lambda.gateway GROUP PORT
(the environment is the deployment's: tests/lambda/conftest.py)."""

from __future__ import annotations

import base64
import importlib
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit

support = importlib.import_module("tests.lambda.support")


def serve(group: str, port: int) -> None:
    handler = importlib.import_module(f"functions.{group}").handler

    class Front(BaseHTTPRequestHandler):
        def _invoke(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            payload = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "content-length"}
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            event = support.event("v2", self.command, url.path, headers=headers, query=query or None,
                                  raw_body=payload if payload else None)  # fmt: skip
            answer = handler(event, support.LambdaContext(f"continuum-test-{group}"))
            raw = answer.get("body") or ""
            body = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()
            self.send_response(answer["statusCode"])
            for name, value in (answer.get("headers") or {}).items():
                if name.lower() not in {"content-length", "connection"}:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _invoke

        def log_message(self, format: str, *args: object) -> None:
            pass

    HTTPServer(("127.0.0.1", port), Front).serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
