"""`chain.node.roles.Roles` mirrors contracts/libraries/Roles.sol: same names, same bits."""

from __future__ import annotations

import re
from functools import reduce
from operator import or_
from pathlib import Path

from chain.node.roles import ROLE_BITS, ROLE_NAMES, Roles, role_names

ROLES_SOL = Path(__file__).resolve().parents[2] / "contracts" / "libraries" / "Roles.sol"
CONSTANT = re.compile(r"^\s*uint8\s+internal\s+constant\s+(\w+)\s*=\s*([^;]+);", re.MULTILINE)


def solidity_roles() -> dict[str, int]:
    """The library's constants, each a number or an `A | B | ...` of constants declared before it."""
    values: dict[str, int] = {}
    for name, expression in CONSTANT.findall(ROLES_SOL.read_text()):
        terms = [term.strip() for term in expression.split("|")]
        values[name] = reduce(or_, (int(term) if term.isdigit() else values[term] for term in terms))
    return values


def test_the_flag_has_the_constants_of_roles_sol() -> None:
    solidity = solidity_roles()
    assert solidity, f"no constants found in {ROLES_SOL}"
    assert {name: int(role) for name, role in Roles.__members__.items()} == solidity


def test_api_names_are_the_single_roles_in_bit_order() -> None:
    assert ROLE_NAMES == {1: "core_enterprise", 2: "supplier", 4: "financier", 8: "auditor"}
    assert ROLE_BITS["financier"] == Roles.FINANCIER and type(ROLE_BITS["financier"]) is int
    assert role_names(Roles.SUPPLIER | Roles.AUDITOR) == ["supplier", "auditor"]
    assert role_names(Roles.ALL) == list(ROLE_BITS)
