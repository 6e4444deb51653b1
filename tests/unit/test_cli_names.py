"""CLI tables name members where the API gives a name beside the id (issue 23), and show the id alone where it
gives none (a pseudonym, a member without a profile)."""

from __future__ import annotations

from scripts.commands.common import cell


def test_an_id_with_a_name_beside_it_shows_both() -> None:
    row = {"holder_id": 7, "holder_name": "恒通车桥", "obligor_id": 3, "obligor_name": None, "note_id": 12}
    assert cell("holder_id", row) == "恒通车桥 (#7)"
    assert cell("obligor_id", row) == "3"  # no name given: the id alone
    assert cell("note_id", row) == "12"  # not a member: no name field


def test_a_pseudonym_stays_as_it_is() -> None:
    row = {"holder_id": "holder-c9c198cb19ab", "holder_name": None}
    assert cell("holder_id", row) == "holder-c9c198cb19ab"


def test_alert_members_are_named_where_the_api_names_them() -> None:
    row = {"members": [4, 9], "member_names": ["华辰汽车", None]}
    assert cell("members", row) == "华辰汽车 (#4), 9"
    assert cell("members", {"members": [4, 9], "member_names": [None, None]}) == "4, 9"
    assert cell("members", {"members": [4]}) == "4"
