"""`GET /metrics`: a Prometheus scrape after real requests (parsed with prometheus_client's own parser)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import admitted, ok, random_hash


def _scrape(http: httpx.Client) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == x for k, x in labels.items()))


def test_metrics_count_requests_writes_and_report_the_ledger(http: httpx.Client, api, operator_key: str) -> None:
    before = _scrape(http)
    roster = [("supplier", ["supplier"], {})]
    with admitted(api.url, operator_key, roster) as parties:
        supplier = parties["supplier"]
        ok(supplier.client.get("/v1/members/me"))
        ok(supplier.client.get("/v1/members/me"))
        missing = supplier.client.get("/v1/notes/999999999")
        assert missing.status_code == 404
        refused = supplier.client.post("/v1/members", json={"roles": ["supplier"], "kyc_hash": random_hash()})
        assert refused.status_code == 403
    after = _scrape(http)

    me = {"method": "GET", "route": "/v1/members/me", "status": "200"}
    assert _value(after, "scf_http_requests_total", **me) - _value(before, "scf_http_requests_total", **me) == 2
    # a raw id never becomes a label: the route template does
    note = {"method": "GET", "route": "/v1/notes/{note_id}", "status": "404"}
    assert _value(after, "scf_http_requests_total", **note) - _value(before, "scf_http_requests_total", **note) == 1
    assert not any("999999999" in labels.get("route", "") for labels, _ in after["scf_http_requests_total"])
    # the operator's admission is a write that was done; the supplier's attempt one that was rejected
    done = {"route": "/v1/members", "outcome": "done"}
    rejected = {"route": "/v1/members", "outcome": "rejected"}
    assert _value(after, "scf_write_outcomes_total", **done) - _value(before, "scf_write_outcomes_total", **done) >= 1
    assert (
        _value(after, "scf_write_outcomes_total", **rejected) - _value(before, "scf_write_outcomes_total", **rejected)
        == 1
    )
    count = {"method": "GET", "route": "/v1/members/me"}
    assert _value(after, "scf_http_request_duration_seconds_count", **count) >= 2

    head = _value(after, "scf_chain_head_block")
    assert _value(after, "scf_chain_reachable") == 1
    assert head >= 1
    assert 0 <= _value(after, "scf_indexer_lag_blocks") <= head
    assert _value(after, "scf_chain_head_age_seconds") >= 0
    assert "scf_nonce_queue_depth" in after
    assert "scf_audit_anchor_age_seconds" in after  # admissions are audited: the anchor exists


def test_metrics_answer_when_the_chain_does_not(tmp_path) -> None:
    """A scrape never needs the node: with the chain gone it still answers, and says so."""
    from chain.devnet.devchain import DevChain, free_port
    from tests.conftest import ServerThread, make_settings

    chain = DevChain(data_dir=tmp_path, port=free_port())
    settings = make_settings(tmp_path, chain.port)  # nothing listens there
    with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        samples = _scrape(client)
    assert _value(samples, "scf_chain_reachable") == 0
    assert "scf_chain_head_block" not in samples
