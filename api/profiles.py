"""Member profiles: names and registration codes, their checks and the hash that goes on chain as the KYC hash.

- USCC (统一社会信用代码, GB 32100-2015): 18 characters over "0123456789ABCDEFGHJKLMNPQRTUWXY" (no I, O, S, V,
  Z); the last is a check character: 31 - (sum of value x weight over the first 17, mod 31), 31 meaning 0.
- LEI (ISO 17442): 20 characters A-Z 0-9, the last two digits are ISO 7064 MOD 97-10 check digits (the code with
  letters as 10..35, read as a number, is 1 mod 97).
- The profile hash is keccak-256 of the profile's canonical JSON (keys sorted, no spaces, UTF-8, absent optional
  fields as null): anyone with the profile recomputes it and compares it to the member's kycHash on chain.
"""

from __future__ import annotations

import json
from typing import Any

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

from api.problems import Problem, catalogued
from api.strict import Text

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PROFILE_FIELDS = ("legal_name_zh", "legal_name_en", "display_name", "uscc", "lei", "contact")


def uscc_check_character(first17: str) -> str:
    """The check character of a USCC's first 17 characters (all in the alphabet)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> Problem | None:
    """Why `code` is not a valid USCC (the 422 `invalid-uscc` to answer, its detail naming the failed check from
    the catalogue), or None when it is."""
    params: dict[str, Any] = {"code": repr(code)}
    if len(code) != 18:
        return catalogued(422, "invalid-uscc", "invalid-uscc.length", {**params, "length": len(code)}, field="uscc")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        params["characters"] = ", ".join(repr(c) for c in bad)
        return catalogued(422, "invalid-uscc", "invalid-uscc.alphabet", params, field="uscc")
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        params.update(found=repr(code[17]), expected=repr(expected))
        return catalogued(422, "invalid-uscc", "invalid-uscc.check-character", params, field="uscc")
    return None


def _lei_number(code: str) -> int:
    return int("".join(str(int(c, 36)) for c in code))


def lei_check_digits(first18: str) -> str:
    """ISO 7064 MOD 97-10 check digits of an LEI's first 18 characters."""
    return f"{98 - _lei_number(first18 + '00') % 97:02d}"


def lei_problem(code: str) -> Problem | None:
    """Why `code` is not a valid LEI (the 422 `invalid-lei` to answer, its detail from the catalogue), or None
    when it is."""
    params: dict[str, Any] = {"code": repr(code)}
    if len(code) != 20:
        return catalogued(422, "invalid-lei", "invalid-lei.length", {**params, "length": len(code)}, field="lei")
    if not all(c.isascii() and (c.isdigit() or c.isupper()) for c in code):
        return catalogued(422, "invalid-lei", "invalid-lei.characters", params, field="lei")
    if not code[18:].isdigit():
        return catalogued(422, "invalid-lei", "invalid-lei.no-check-digits", params, field="lei")
    if _lei_number(code) % 97 != 1:
        params.update(found=repr(code[18:]), expected=repr(lei_check_digits(code[:18])))
        return catalogued(422, "invalid-lei", "invalid-lei.check-digits", params, field="lei")
    return None


class MemberProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name_zh: Text = Field(min_length=1, max_length=200, description="legal name in Chinese (as registered)")
    legal_name_en: Text = Field(min_length=1, max_length=200, description="legal name in English")
    display_name: Text = Field(min_length=1, max_length=64, description="short name shown beside the member's id")
    uscc: str = Field(max_length=64, description="unified social credit code (统一社会信用代码, 18 characters)")
    lei: str | None = Field(None, max_length=64, description="legal entity identifier (ISO 17442, 20 characters)")
    contact: Text | None = Field(None, max_length=200, description="a contact (person, e-mail or telephone)")

    def checked(self) -> MemberProfileIn:
        """The profile with its codes checked (422 `invalid-uscc` / `invalid-lei` naming the problem)."""
        problem = uscc_problem(self.uscc)
        if problem is not None:
            raise problem
        if self.lei is not None:
            problem = lei_problem(self.lei)
            if problem is not None:
                raise problem
        return self


class MemberProfileOut(BaseModel):
    legal_name_zh: str
    legal_name_en: str
    display_name: str
    uscc: str
    lei: str | None
    contact: str | None
    profile_hash: str = Field(description="keccak-256 of the profile's canonical JSON (the on-chain KYC hash)")


def canonical_profile(fields: dict[str, Any]) -> bytes:
    """Keys sorted, no spaces, UTF-8 (Chinese stays as is), every field present (null when absent)."""
    data = {name: fields.get(name) for name in PROFILE_FIELDS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def profile_hash(fields: dict[str, Any]) -> str:
    return "0x" + keccak(canonical_profile(fields)).hex()
