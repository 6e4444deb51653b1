"""A retry of a write whose effect removes the caller's right to make it again still gets the first answer."""

from __future__ import annotations

import httpx

from tests.conftest import ServerThread, ok, problem
from tests.stress.harness import admit, issue, new_key


def test_retried_transfer_replays_instead_of_403_and_a_new_key_is_refused(
    api: ServerThread, operator: httpx.Client
) -> None:
    _core, core_key = admit(operator, ["core_enterprise"], credit_limit="1000000.00")
    supplier, supplier_key = admit(operator, ["supplier"])
    other, _ = admit(operator, ["supplier"])
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {core_key}"}) as core:
        note_id = issue(core, supplier["id"], "700.00")["first_note_id"]
    key = new_key()
    with httpx.Client(base_url=api.url, timeout=60, headers={"Authorization": f"Bearer {supplier_key}"}) as client:
        first = ok(
            client.post(f"/v1/notes/{note_id}/transfer", json={"to": other["id"]}, headers={"Idempotency-Key": key})
        )
        assert first["holder_id"] == other["id"]
        # the caller no longer holds the note, yet the retry (lost response) gets the stored answer, not 403
        again = client.post(f"/v1/notes/{note_id}/transfer", json={"to": other["id"]}, headers={"Idempotency-Key": key})
        assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first
        # the key does not bypass the check for another request: a new key, or another body, is refused
        problem(client.post(f"/v1/notes/{note_id}/transfer", json={"to": other["id"]}), 403, "forbidden")
        reused = client.post(
            f"/v1/notes/{note_id}/transfer", json={"to": supplier["id"]}, headers={"Idempotency-Key": key}
        )
        problem(reused, 403, "forbidden")
