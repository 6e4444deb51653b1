"""Everything that talks to the ledger: node/ (the client), readmodel/ (the SQL read model), devnet/ (tools).

Importing `py_ecc` (eth_keyfile imports it for BLS keystores, so web3 and eth_account pull it in) raises
Python's recursion limit to 100,000 for the whole process. With that limit the C JSON parser recursed into a
body of 100,000 nested `[` until the C stack overflowed and the API died (segmentation fault). Every entry
point (`api`, `scripts`, `chain`) goes through this package first: py_ecc is imported here once and the limit
put back, and later imports of py_ecc do not raise it again.
"""

import sys as _sys

_PYTHON_DEFAULT_RECURSION_LIMIT = 1000
_limit = _sys.getrecursionlimit()
import py_ecc  # noqa: E402,F401  (imported for its side effect, which the next line undoes)

# py_ecc may already have been imported (its 100,000 then is what we saw): fall back to Python's default
_sys.setrecursionlimit(_limit if _limit < 100_000 else _PYTHON_DEFAULT_RECURSION_LIMIT)
