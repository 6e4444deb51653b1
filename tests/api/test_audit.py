# ruff: noqa: RUF001  (Chinese output uses full-width punctuation)
"""The audit log over real HTTP on a private chain and database: entries, filters, verification, the CLI, and
the rejected-attempts alert rule. A private world, because the last tests tamper with the database."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from api.audit import ANCHOR_FILE, GENESIS_HASH, read_anchor, verify_chain
from api.problems import TYPE_BASE
from chain.devnet.devchain import free_port
from chain.readmodel.store import create_schema, make_engine
from scripts.cli import app as cli_app
from tests.conftest import (
    PrivateWorld,
    ServerThread,
    make_settings,
    needs_sqlite,
    ok,
    private_world,
    problem,
    random_hash,
    with_mint_ceiling,
)

MATURITY = (date.today() + timedelta(days=60)).isoformat()


class Party:
    def __init__(self, url: str, member_id: int, key: str) -> None:
        self.id = member_id
        self.key = key
        self.client = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateWorld]:
    with private_world(tmp_path_factory.mktemp("scf-audit")) as private:
        yield private


@pytest.fixture(scope="module")
def parties(world: PrivateWorld) -> Iterator[dict[str, Party]]:
    url = world.server.url
    admitted: dict[str, Party] = {}
    with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {world.operator_key}"}) as op:
        for name, roles, extra in [
            ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
            ("issuer", ["core_enterprise"], {"credit_limit": "1000000.00"}),
            ("supplier", ["supplier"], {}),
            ("auditor", ["auditor"], {}),
        ]:
            body = ok(
                op.post(
                    "/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})
                ),
                201,
            )
            admitted[name] = Party(url, body["member"]["id"], body["api_key"])
    yield admitted
    for party in admitted.values():
        party.client.close()


def _receivable(creditor_id: int, invoice_hash: str, value: str = "100.00") -> dict[str, Any]:
    return {"creditor_id": creditor_id, "face_value": value, "maturity": MATURITY, "invoice_hash": invoice_hash}


def _entries(auditor: Party, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = "0"
    while cursor is not None:
        page = ok(auditor.client.get("/v1/audit", params={**filters, "cursor": cursor, "limit": 500}))
        items.extend(page["items"])
        cursor = page["next_cursor"]
    return items


def _by_request(auditor: Party, request_id: str) -> dict[str, Any]:
    [entry] = [e for e in _entries(auditor) if e["request_id"] == request_id]
    return entry


def _hex(value: str) -> str:
    return value.lower().removeprefix("0x")


def test_a_write_is_logged_with_who_what_and_its_transaction(parties: dict[str, Party]) -> None:
    core, supplier, auditor = parties["core"], parties["supplier"], parties["auditor"]
    request_id = f"test-{uuid.uuid4().hex}"
    key = uuid.uuid4().hex
    headers = {"X-Request-Id": request_id, "Idempotency-Key": key}
    response = core.client.post("/v1/receivables", json=_receivable(supplier.id, random_hash()), headers=headers)
    issued = ok(response, 201)
    assert response.headers["x-request-id"] == request_id

    entry = _by_request(auditor, request_id)
    assert entry["member_id"] == core.id and entry["api_key_id"] is not None
    assert (entry["method"], entry["path"], entry["action"]) == ("POST", "/v1/receivables", "issue_receivable")
    assert (entry["status"], entry["result"], entry["problem_type"]) == (201, "ok", None)
    assert entry["idempotency_key"] == key
    assert [_hex(h) for h in entry["tx_hashes"]] == [_hex(issued["issued_tx"])]
    assert datetime.fromisoformat(entry["at"]) > datetime.now(UTC) - timedelta(minutes=5)

    # the replay of the idempotency key is an action too: logged, and it sent nothing
    replay_id = f"test-{uuid.uuid4().hex}"
    again = core.client.post(
        "/v1/receivables",
        json=_receivable(supplier.id, issued["invoice_hash"]),
        headers={"X-Request-Id": replay_id, "Idempotency-Key": key},
    )
    assert again.headers.get("idempotent-replayed") == "true"
    replay = _by_request(auditor, replay_id)
    assert (replay["status"], replay["tx_hashes"], replay["idempotency_key"]) == (201, [], key)
    assert replay["seq"] > entry["seq"]


def test_a_rejected_write_is_logged_with_its_problem_type(parties: dict[str, Party]) -> None:
    core, supplier, auditor = parties["core"], parties["supplier"], parties["auditor"]
    invoice = random_hash()
    ok(core.client.post("/v1/receivables", json=_receivable(supplier.id, invoice)), 201)
    request_id = f"test-{uuid.uuid4().hex}"
    refused = core.client.post(
        "/v1/receivables", json=_receivable(supplier.id, invoice), headers={"X-Request-Id": request_id}
    )
    problem(refused, 409, "invoice-already-tokenised")
    assert refused.headers["x-request-id"] == request_id
    entry = _by_request(auditor, request_id)
    assert (entry["status"], entry["result"]) == (409, "rejected")
    assert entry["problem_type"] == TYPE_BASE + "invoice-already-tokenised"
    assert entry["member_id"] == core.id and entry["tx_hashes"] == []  # refused at pre-flight: nothing sent


def test_unauthenticated_requests_are_logged_without_a_member(world: PrivateWorld, parties: dict[str, Party]) -> None:
    auditor = parties["auditor"]
    with httpx.Client(base_url=world.server.url, timeout=30) as anonymous:
        no_key = anonymous.post("/v1/orders", json={}, headers={"X-Request-Id": "anon-no-key"})
        bad_key = anonymous.post(
            "/v1/orders/1/confirm", headers={"Authorization": "Bearer scf_forged", "X-Request-Id": "anon-bad-key"}
        )
    problem(no_key, 401, "unauthorized")
    problem(bad_key, 401, "unauthorized")
    for request_id, action in [("anon-no-key", "propose_order"), ("anon-bad-key", "confirm_order")]:
        entry = _by_request(auditor, request_id)
        assert (entry["member_id"], entry["api_key_id"], entry["action"]) == (None, None, action)
        assert (entry["status"], entry["result"], entry["problem_type"]) == (
            401,
            "rejected",
            TYPE_BASE + "unauthorized",
        )


def test_verify_reads_are_logged_and_ordinary_reads_are_not(world: PrivateWorld, parties: dict[str, Party]) -> None:
    supplier, auditor = parties["supplier"], parties["auditor"]
    before = _entries(auditor)
    ok(supplier.client.get("/v1/orders", headers={"X-Request-Id": "plain-read"}))
    health = httpx.get(world.server.url + "/health", headers={"X-Request-Id": "health-read"})
    assert health.headers["x-request-id"] == "health-read"  # echoed on every response, logged or not
    read = auditor.client.get(
        "/v1/verify/invoice", params={"hash": random_hash()}, headers={"X-Request-Id": "verify-read"}
    )
    assert ok(read)["tokenised"] is False
    entry = _by_request(auditor, "verify-read")
    assert (entry["method"], entry["path"], entry["action"]) == ("GET", "/v1/verify/invoice", "verify_invoice")
    assert (entry["member_id"], entry["result"], entry["tx_hashes"]) == (auditor.id, "ok", [])
    after = _entries(auditor)
    ids = {e["request_id"] for e in after[len(before) :]}
    assert "plain-read" not in ids and "health-read" not in ids
    # the auditor's own GET /v1/audit pages are auditable reads too
    assert any(e["path"] == "/v1/audit" and e["member_id"] == auditor.id for e in after)


def test_an_unusable_request_id_is_replaced(parties: dict[str, Party]) -> None:
    response = parties["supplier"].client.post("/v1/orders", json={}, headers={"X-Request-Id": "no spaces <allowed>"})
    problem(response, 422, "validation-error")
    generated = response.headers["x-request-id"]
    assert generated != "no spaces <allowed>" and len(generated) == 32
    assert _by_request(parties["auditor"], generated)["status"] == 422


def test_forty_concurrent_requests_keep_the_chain_gapless(world: PrivateWorld, parties: dict[str, Party]) -> None:
    core, supplier, auditor = parties["core"], parties["supplier"], parties["auditor"]
    tag = uuid.uuid4().hex[:8]

    def write(i: int) -> int:
        body = _receivable(supplier.id, random_hash(), "10.00")
        response = core.client.post("/v1/receivables", json=body, headers={"X-Request-Id": f"w-{tag}-{i}"})
        return response.status_code

    def refused(i: int) -> int:
        with httpx.Client(base_url=world.server.url, timeout=60) as anonymous:
            return anonymous.post("/v1/notes/1/split", json={}, headers={"X-Request-Id": f"u-{tag}-{i}"}).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        writes = [pool.submit(write, i) for i in range(20)]
        anonymous = [pool.submit(refused, i) for i in range(20)]
        assert [f.result() for f in writes] == [201] * 20
        assert [f.result() for f in anonymous] == [401] * 20

    entries = _entries(auditor)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    ours = [e for e in entries if e["request_id"].endswith(tuple(f"-{tag}-{i}" for i in range(20)))]
    assert len(ours) == 40 and len({e["seq"] for e in ours}) == 40
    assert sum(1 for e in ours if e["result"] == "ok" and len(e["tx_hashes"]) == 1) == 20
    assert entries[0]["prev_hash"] == GENESIS_HASH
    assert verify_chain(entries).ok
    verdict = ok(auditor.client.get("/v1/audit/verify"))
    assert verdict["ok"] is True and verdict["first_bad_seq"] is None
    assert verdict["head_seq"] >= entries[-1]["seq"] and verdict["entries"] == verdict["head_seq"]


def test_audit_filters_and_access(parties: dict[str, Party], world: PrivateWorld) -> None:
    core, supplier, auditor = parties["core"], parties["supplier"], parties["auditor"]
    problem(supplier.client.get("/v1/audit"), 403, "forbidden")
    problem(supplier.client.get("/v1/audit/verify"), 403, "forbidden")
    problem(core.client.get("/v1/audit", params={"member_id": core.id}), 403, "forbidden")

    mine = _entries(auditor, member_id=core.id)
    assert mine and {e["member_id"] for e in mine} == {core.id}
    assert any(e["path"] == "/v1/audit" and e["result"] == "rejected" for e in mine)  # its 403 is logged too
    issued = _entries(auditor, action="issue_receivable", result="ok")
    assert len(issued) >= 22 and {(e["action"], e["result"]) for e in issued} == {("issue_receivable", "ok")}
    rejected = _entries(auditor, result="rejected")
    assert rejected and {e["result"] for e in rejected} == {"rejected"}

    everything = _entries(auditor)
    middle = everything[len(everything) // 2]
    since = _entries(auditor, since=middle["at"])
    assert since and all(e["at"] >= middle["at"] for e in since)
    until = _entries(auditor, until=middle["at"])
    assert until and all(e["at"] < middle["at"] for e in until)

    page = ok(auditor.client.get("/v1/audit", params={"limit": 2, "cursor": 3}))
    assert [e["seq"] for e in page["items"]] == [4, 5] and page["next_cursor"] == "5"
    with httpx.Client(
        base_url=world.server.url, timeout=30, headers={"Authorization": f"Bearer {world.operator_key}"}
    ) as op:
        assert ok(op.get("/v1/audit", params={"limit": 1}))["items"][0]["seq"] == 1
    problem(auditor.client.get("/v1/audit", params={"limit": 501}), 422, "validation-error")
    problem(auditor.client.get("/v1/audit", params={"result": "maybe"}), 422, "validation-error")
    problem(auditor.client.get("/v1/audit", params={"since": "2026-01-01T00:00:00"}), 422, "validation-error")


def _rejected_alerts(auditor: Party, member_id: int) -> list[dict[str, Any]]:
    page = ok(auditor.client.get("/v1/alerts", params={"rule": "rejected-attempts", "member_id": member_id}))
    items: list[dict[str, Any]] = page["items"]
    return items


def test_rejected_attempts_alert_after_three_reissues_not_two(world: PrivateWorld, parties: dict[str, Party]) -> None:
    issuer, supplier, auditor = parties["issuer"], parties["supplier"], parties["auditor"]
    invoice = random_hash()
    ok(issuer.client.post("/v1/receivables", json=_receivable(supplier.id, invoice)), 201)
    attempts = []
    for i in range(3):
        request_id = f"reissue-{uuid.uuid4().hex}"
        attempts.append(request_id)
        refused = issuer.client.post(
            "/v1/receivables", json=_receivable(supplier.id, invoice), headers={"X-Request-Id": request_id}
        )
        problem(refused, 409, "invoice-already-tokenised")
        if i == 1:
            assert _rejected_alerts(auditor, issuer.id) == []  # two attempts: a near miss

    [alert] = _rejected_alerts(auditor, issuer.id)
    assert (alert["rule"], alert["severity"], alert["members"]) == ("rejected-attempts", "medium", [issuer.id])
    assert alert["evidence"] == attempts
    assert _rejected_alerts(auditor, parties["core"].id) == []  # core was refused once only

    # the alert table is a projection: a rebuild of the read model derives it again from the audit log
    ledger = world.server.server.config.app.state.ledger  # type: ignore[attr-defined]
    ledger.get().indexer.rebuild()
    [rebuilt] = _rejected_alerts(auditor, issuer.id)
    assert (rebuilt["evidence"], rebuilt["created"]) == (alert["evidence"], alert["created"])


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli_app, list(args), env={"SCF_API_URL": "", "SCF_API_KEY": ""})


def test_cli_verifies_from_the_database_and_over_the_api(world: PrivateWorld, parties: dict[str, Party]) -> None:
    data_dir = str(world.settings.data_dir)
    database = ["--database-url", world.settings.effective_database_url]
    result = _cli("audit", "verify", "--data-dir", data_dir, *database)
    assert result.exit_code == 0, result.output
    assert "audit log intact" in result.output
    as_json = _cli("audit", "verify", "--data-dir", data_dir, *database, "--json")
    verdict = json.loads(as_json.stdout)
    assert verdict["ok"] is True and verdict["entries"] == verdict["head_seq"] > 40
    anchor = read_anchor(world.settings.data_dir / ANCHOR_FILE)
    assert anchor is not None and anchor.seq <= verdict["head_seq"]
    assert (world.settings.data_dir / ANCHOR_FILE).stat().st_mode & 0o777 == 0o600

    over_api = _cli("audit", "verify", "--api", world.server.url, "--key", parties["auditor"].key, "--json")
    assert over_api.exit_code == 0, over_api.output
    assert json.loads(over_api.stdout)["ok"] is True
    refused = _cli("audit", "verify", "--api", world.server.url, "--key", parties["supplier"].key)
    assert refused.exit_code == 1 and "403" in refused.output


@needs_sqlite
def test_cli_picks_the_mode_from_what_is_at_hand(
    world: PrivateWorld, parties: dict[str, Party], tmp_path: Path
) -> None:
    """SCF_API_URL set (as after the README's tour): the local database still wins, no key needed; without a
    local database the API is used with the operator key file; with no key at all the error says so."""

    def run(data_dir: Path) -> Any:
        env = {"SCF_API_URL": world.server.url, "SCF_API_KEY": "", "SCF_DATA_DIR": str(data_dir)}
        return CliRunner().invoke(cli_app, ["audit", "verify"], env=env)

    local = run(world.settings.data_dir)
    assert local.exit_code == 0, local.output
    assert "audit log intact" in local.output and "from the database" in local.output

    remote_dir = tmp_path / "elsewhere"
    remote_dir.mkdir()
    (remote_dir / "operator-api-key").write_text(world.operator_key + "\n")
    remote = run(remote_dir)
    assert remote.exit_code == 0, remote.output
    assert f"from {world.server.url}" in remote.output

    keyless = run(tmp_path)
    assert keyless.exit_code == 2, keyless.output
    assert "no API key" in keyless.output and "cannot verify the audit log: 2" not in keyless.output
    env = {"SCF_API_URL": world.server.url, "SCF_API_KEY": "", "SCF_DATA_DIR": str(tmp_path)}
    keyless_chinese = CliRunner().invoke(cli_app, ["--lang", "zh-CN", "audit", "verify"], env=env)
    assert keyless_chinese.exit_code == 2
    assert "错误： 没有 API 密钥：请用 --key（或 SCF_API_KEY）传入审计方或运营方的密钥" in keyless_chinese.output

    # no URL anywhere but the data dir's service record (what `make run` on other ports leaves): the API it names
    from scripts.client import write_service_record

    recorded = tmp_path / "recorded"
    recorded.mkdir()
    (recorded / "operator-api-key").write_text(world.operator_key + "\n")
    write_service_record(recorded, api_url=world.server.url, rpc_url=world.chain.url)
    env = {"SCF_API_URL": None, "SCF_API_HOST": None, "SCF_API_PORT": None, "SCF_API_KEY": None}
    by_record = CliRunner().invoke(cli_app, ["audit", "verify"], env={**env, "SCF_DATA_DIR": str(recorded)})
    assert by_record.exit_code == 0, by_record.output
    assert f"from {world.server.url}" in by_record.output


@needs_sqlite
def test_cli_and_server_detect_an_edited_row_and_a_truncated_tail(
    world: PrivateWorld, parties: dict[str, Party]
) -> None:
    data_dir = world.settings.data_dir
    db = sqlite3.connect(data_dir / "scf.db", timeout=30)
    try:
        [(status, outcome)] = db.execute("SELECT status, result FROM audit_log WHERE seq = 2").fetchall()
        with db:
            db.execute("UPDATE audit_log SET status = 403, result = 'rejected' WHERE seq = 2")
        result = _cli("audit", "verify", "--data-dir", str(data_dir))
        assert result.exit_code == 1
        assert "first bad entry 2 (edited)" in " ".join(result.output.split())
        chinese = _cli("--lang", "zh-CN", "audit", "verify", "--data-dir", str(data_dir))
        assert chinese.exit_code == 1
        assert "审计日志已被篡改：第一条有问题的记录为2（被修改）" in "".join(chinese.output.split()), chinese.output
        verdict = ok(parties["auditor"].client.get("/v1/audit/verify"))
        assert (verdict["ok"], verdict["first_bad_seq"], verdict["reason"]) == (False, 2, "edited")

        with db:  # undo the edit: intact again
            db.execute("UPDATE audit_log SET status = ?, result = ? WHERE seq = 2", (status, outcome))
        assert _cli("audit", "verify", "--data-dir", str(data_dir)).exit_code == 0
        intact = _cli("--lang", "zh-CN", "audit", "verify", "--data-dir", str(data_dir))
        assert intact.exit_code == 0, intact.output
        assert "审计日志完整：共" in intact.output and "来源 数据库" in intact.output, intact.output

        anchor = read_anchor(data_dir / ANCHOR_FILE)
        assert anchor is not None
        with db:  # delete the newest entries: the chain that remains is valid, only the anchor tells
            db.execute("DELETE FROM audit_log WHERE seq >= ?", (anchor.seq - 1,))
        truncated = _cli("audit", "verify", "--data-dir", str(data_dir), "--json")
        assert truncated.exit_code == 1
        verdict = json.loads(truncated.stdout)
        assert (verdict["ok"], verdict["reason"], verdict["first_bad_seq"]) == (False, "truncated", anchor.seq - 1)
    finally:
        db.close()


@needs_sqlite
def test_without_a_writable_log_nothing_is_done_and_the_refusal_is_logged_later(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data_dir = tmp_path_factory.mktemp("scf-audit-down")
    settings = make_settings(data_dir, free_port())  # no chain needed: the refusal comes before any route
    with ServerThread(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        db = sqlite3.connect(data_dir / "scf.db", timeout=30)
        try:
            with db:
                db.execute("DROP TABLE audit_head")  # the log cannot be read: as if its database were away
            refused = client.post("/v1/orders", json={}, headers={"X-Request-Id": "while-down"})
            problem(refused, 503, "audit-unavailable")
            assert refused.headers["x-request-id"] == "while-down"
            assert refused.headers["audit-pending"] == "true"
            assert "while-down" in (data_dir / "audit-pending.jsonl").read_text()
            # an audited read changes nothing: it is answered, and its entry waits in the spool too
            read = client.get("/v1/audit", headers={"X-Request-Id": "read-while-down"})
            problem(read, 401, "unauthorized")
            assert read.headers["audit-pending"] == "true"
            assert "read-while-down" in (data_dir / "audit-pending.jsonl").read_text()

            engine = make_engine(settings.effective_database_url)
            create_schema(engine)  # the table is back
            engine.dispose()
            problem(client.post("/v1/orders", json={}, headers={"X-Request-Id": "back-up"}), 401, "unauthorized")
            rows = db.execute("SELECT seq, request_id, status, result, problem_type FROM audit_log ORDER BY seq")
            assert rows.fetchall() == [
                (1, "while-down", 503, "error", TYPE_BASE + "audit-unavailable"),
                (2, "read-while-down", 401, "rejected", TYPE_BASE + "unauthorized"),
                (3, "back-up", 401, "rejected", TYPE_BASE + "unauthorized"),
            ]
            assert not (data_dir / "audit-pending.jsonl").exists()
        finally:
            db.close()
