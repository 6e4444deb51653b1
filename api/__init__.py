"""SCF Chain HTTP API (FastAPI)."""
