"""`scf` command groups over the HTTP API (one module per group)."""
