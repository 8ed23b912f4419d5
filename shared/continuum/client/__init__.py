"""The Python SDK: `Continuum` (sync) and `AsyncContinuum` (async) over the HTTP API.

    from continuum.client import Continuum

    with Continuum("http://127.0.0.1:8420", api_key="ck_...") as memory:
        memory.learn(user_message="We host Orion on Fly.io", ai_response="Noted.")
        print(memory.recall(message="Where is Orion hosted?").context)

Part of the plain install; imports httpx, pydantic and the API's schemas, never the server.
"""

from continuum.client.aio import AsyncContinuum
from continuum.client.core import RetryPolicy
from continuum.client.errors import (
    AuthenticationError,
    ConflictError,
    ConnectionError,
    ContinuumError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from continuum.client.sync import Continuum

__all__ = [
    "AsyncContinuum", "AuthenticationError", "ConflictError", "ConnectionError", "Continuum", "ContinuumError",
    "InvalidRequestError", "NotFoundError", "RateLimitError", "RetryPolicy", "ServerError",
]  # fmt: skip
