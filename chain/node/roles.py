"""Member role bits: the one Python spelling of contracts/libraries/Roles.sol (tests/unit/test_roles.py compares
the two)."""

from __future__ import annotations

from enum import IntFlag


class Roles(IntFlag):
    """A member's roles on chain, as the contracts store them (`Roles.sol`)."""

    CORE_ENTERPRISE = 1
    SUPPLIER = 2
    FINANCIER = 4
    AUDITOR = 8
    ALL = CORE_ENTERPRISE | SUPPLIER | FINANCIER | AUDITOR
    # Roles that may hold orders, notes and cash.
    HOLDER = CORE_ENTERPRISE | SUPPLIER | FINANCIER


# The single roles, in bit order, by the name the API and the CLI use (`core_enterprise`, `supplier`, ...).
SINGLE_ROLES = (Roles.CORE_ENTERPRISE, Roles.SUPPLIER, Roles.FINANCIER, Roles.AUDITOR)
ROLE_NAMES: dict[int, str] = {int(role): str(role.name).lower() for role in SINGLE_ROLES}
# Plain ints: a flag is iterable (its single members), and web3 would encode one given as an argument as a list;
# pass `int(Roles.X)` to a contract call.
ROLE_BITS: dict[str, int] = {str(role.name).lower(): int(role) for role in SINGLE_ROLES}


def role_names(mask: int) -> list[str]:
    """The API names of the single roles set in `mask`, in bit order."""
    return [name for bit, name in ROLE_NAMES.items() if mask & bit]
