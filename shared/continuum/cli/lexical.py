"""`continuum migrate`'s second step: the lexical postings of an existing database,
built with a progress bar, resumable, the old full-text index dropped only after."""

from __future__ import annotations

from typing import Any

import click


async def lexical_status(storage: Any) -> str:
    state = await storage.lexical_index_state() if hasattr(storage, "lexical_index_state") else None
    if state is None:
        return "lexical index: not created yet (migration 0008 pending)"
    if state["built"]:
        return "lexical index: built" + ("" if state["old_dropped"] else " (old index still present)")
    where = f" (resumes after {state['after_tenant']}/{state['after_id']})" if state["after_tenant"] else ""
    return f"lexical index: to build{where}: run `continuum migrate`"


async def build_lexical_index(storage: Any, *, batch: int) -> str:
    if not hasattr(storage, "build_lexical_index"):
        return "lexical index: not kept by this storage"
    state = await storage.lexical_index_state()
    if state is not None and state["built"] and state["old_dropped"]:
        return "lexical index: built"
    stream = click.get_text_stream("stderr")
    if stream.isatty():
        with click.progressbar(length=1, label="building the lexical index", file=stream) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            read = await storage.build_lexical_index(progress, batch=batch)
    else:  # a log: one line per tenth
        shown = [-1]

        def progress(done: int, total: int) -> None:
            tenth = done * 10 // max(total, 1)
            if tenth != shown[0]:
                shown[0] = tenth
                click.echo(f"building the lexical index: {done:,}/{total:,} ({done * 100 // max(total, 1)}%)", err=True)

        read = await storage.build_lexical_index(progress, batch=batch)
    return f"lexical index: built ({read:,} memories indexed now); the old full-text index is dropped"
