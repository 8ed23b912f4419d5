"""Cloudflare D1: the SQLite-dialect storage of the local server, run through D1's
JavaScript API (`D1Storage`)."""

from continuum.storage.d1.store import D1Storage

__all__ = ["D1Storage"]
