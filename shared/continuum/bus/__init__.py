"""Event buses for real-time sync (the `EventBus` port, docs/sync.md): in-process for one
process (`memory.py`), Redis pub/sub for several instances (`redis.py`)."""
