"""Storage in the SQLite dialect, shared by the local SQLite file and Cloudflare D1.

All logic lives here; an executor only runs SQL. Writes are expressed as one atomic
batch of statements with no reads in between (D1 has no BEGIN), lists travel as a
single JSON parameter read with json_each (D1 allows 100 bound parameters), and
statistics updates are conditioned on the row they belong to having been written.
"""
