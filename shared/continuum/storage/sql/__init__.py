"""The SQL layer every storage backend shares: dialect codecs, filter clauses, the
write bookkeeping (insert results, term deltas), the reads whose SQL has one shape in
every dialect, and the one migration runner."""
