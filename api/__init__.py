"""SCF Chain HTTP API (FastAPI)."""

import chain  # noqa: F401  (first: it keeps py_ecc from leaving the recursion limit at 100,000; see chain/__init__)
