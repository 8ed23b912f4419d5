"""Federation: nodes exchange anonymised concepts over signed requests (docs/federation.md)."""
