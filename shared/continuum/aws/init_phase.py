"""A Lambda function initialises with the cyclic garbage collector paused.

INIT imports the app: about 100,000 long-lived objects (modules, classes, functions,
models). Each time allocations pass the collector's threshold it walks the young ones
again, and during INIT that work finds almost nothing to free (about 400 objects in a
whole cold start) while costing about 4 % of the cold start's instructions. `functions/`
imports this module before anything else; the handler calls `init_done()` once the first
request is answered, which moves everything built so far out of the collector's sight
(`gc.freeze`: later collections, on warm requests, skip it) and turns the collector back on.

Only where Lambda runs the code (it sets AWS_LAMBDA_FUNCTION_NAME): a test process that
imports `functions` keeps its collector untouched. There too, pydantic is told it has no
plugins (the zip packs none): otherwise building the first model scans the metadata of
every installed distribution for plugin entry points (about 1 % of a cold start).
"""

from __future__ import annotations

import gc
import os

_on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
_paused = _on_lambda and gc.isenabled()
if _paused:
    gc.disable()
if _on_lambda:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def init_done() -> None:
    """End of INIT (after the first request): freeze what it built, collect again from now on."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
