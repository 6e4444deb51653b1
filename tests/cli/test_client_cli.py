"""`scf <group> <command>` over the HTTP API: a real anvil, the real API over HTTP, the CLI through CliRunner."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from api.bootstrap import OPERATOR_KEY_FILE
from chain.devnet.devchain import free_port
from scripts.cli import app
from scripts.client import ApiClient, ApiError, ApiUnreachable, mask_key, resolve_config
from scripts.companies import SUPPLIERS, company
from scripts.runtime import Ledger
from tests.conftest import TEST_MINT_CEILING, ServerThread, make_settings, random_hash

runner = CliRunner()

GROUPS = {
    "members": [
        *("list", "show", "me", "credit", "admit", "suspend", "reinstate", "credit-limit", "rotate-key"),
        *("keys", "issue-key", "revoke-key"),
    ],
    "orders": ["list", "show", "propose", "confirm", "deliver", "cancel", "accept", "pledge", "release"],
    "receivables": ["list", "show", "issue", "tree"],
    "notes": ["list", "show", "split", "pay", "transfer", "merge", "lock", "release", "provenance"],
    "financing": [
        "request",
        "requests",
        "answer",
        "withdraw-request",
        "offers",
        "offer",
        "cancel-offer",
        "accept",
        "purchases",
        "loans",
        "lend",
        "repay",
        "foreclose",
    ],
    "cash": ["balance", "moves", "mint", "burn", "pay"],
    "settlement": ["show", "fund", "settle", "redeem"],
    "verify": ["note", "invoice", "order", "holdings", "proof"],
    "alerts": ["list"],
    "share": ["grant", "list", "revoke"],
    "config": ["show"],
}

Scf = Callable[..., Result]


@pytest.fixture()
def scf(api: ServerThread, operator_key: str, tmp_path: Path) -> Scf:
    """Runs `scf ...` against the session API as `key` (default: the operator); no config file, no data dir key."""

    def run(*args: str, key: str | None = None) -> Result:
        env = {
            "SCF_API_URL": api.url,
            "SCF_API_KEY": key or operator_key,
            "SCF_DATA_DIR": str(tmp_path / "no-data-dir"),
            "SCF_CONFIG": None,
            "HOME": str(tmp_path),
        }
        return runner.invoke(app, list(args), env=env)

    return run


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def human(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def admit(scf: Scf, role: str, *extra: str) -> tuple[int, str]:
    if role == "financier":  # S-5: it mints only up to the ceiling the operator sets
        extra = (*extra, "--mint-ceiling", TEST_MINT_CEILING)
    out = as_json(scf("members", "admit", "--role", role, "--kyc-hash", random_hash(), *extra, "--json"))
    assert out["member"]["roles"] == [role]
    assert out["api_key"].startswith("scf_")
    return int(out["member"]["id"]), str(out["api_key"])


def chain_today(ledger: Ledger) -> date:
    timestamp = int(ledger.w3.eth.get_block("latest")["timestamp"])
    return datetime.fromtimestamp(timestamp, UTC).date()


def test_a_supply_chain_through_the_cli(scf: Scf, ledger: Ledger) -> None:
    core, core_key = admit(scf, "core_enterprise", "--credit-limit", "5000000.00")
    t1, t1_key = admit(scf, "supplier")
    t2, t2_key = admit(scf, "supplier")
    bank, bank_key = admit(scf, "financier")
    assert "5,000,000.00" in human(scf("members", "show", str(core)))
    assert as_json(scf("members", "me", "--json", key=t1_key))["id"] == t1
    assert as_json(scf("members", "credit", str(t1), "--json"))["member_id"] == t1

    proposed = as_json(
        scf(
            "orders",
            "propose",
            "--buyer",
            str(core),
            "--amount",
            "1000000.00",
            "--document-hash",
            random_hash(),
            "--due",
            "+60d",
            "--json",
            key=t1_key,
        )
    )
    order_id = proposed["id"]
    assert (proposed["status"], proposed["supplier_id"], proposed["amount"]) == ("proposed", t1, "1000000.00")
    assert proposed["due_date"] == (chain_today(ledger) + timedelta(days=60)).isoformat()
    assert as_json(scf("orders", "confirm", str(order_id), "--json", key=core_key))["status"] == "confirmed"
    delivered = human(scf("orders", "deliver", str(order_id), key=t1_key))
    assert "delivered" in delivered and "1,000,000.00 CNY" in delivered
    accepted = as_json(
        scf(
            "orders",
            "accept",
            str(order_id),
            "--face-value",
            "1000000.00",
            "--maturity",
            "+90d",
            "--invoice-hash",
            random_hash(),
            "--json",
            key=core_key,
        )
    )
    assert accepted["status"] == "invoiced"
    slot = accepted["receivable_id"]
    receivable = as_json(scf("receivables", "show", str(slot), "--json", key=t1_key))
    assert (receivable["obligor_id"], receivable["creditor_id"], receivable["face_value"]) == (core, t1, "1000000.00")
    note_id = receivable["first_note_id"]
    payables = as_json(scf("receivables", "list", "--role", "obligor", "--json", key=core_key))["items"]
    assert [r["id"] for r in payables] == [slot]  # the core enterprise owes this one receivable
    assert f"{slot}" in human(scf("receivables", "list", "--role", "creditor", key=t1_key))

    split = as_json(scf("notes", "split", str(note_id), "--to", str(t2), "--value", "300000.00", "--json", key=t1_key))
    assert (split["note"]["id"], split["note"]["value"], split["note"]["holder_id"]) == (note_id, "700000.00", t1)
    child = split["new_note"]
    assert (child["holder_id"], child["value"], child["parent_id"]) == (t2, "300000.00", note_id)
    listed = human(scf("notes", "list", key=t1_key))
    assert "700,000.00 CNY" in listed and "300,000.00" not in listed

    # a refused request: one line naming the problem type, exit 1, nothing changed
    refused = scf("notes", "split", str(note_id), "--to", str(t2), "--value", "900000.00", key=t1_key)
    assert refused.exit_code == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error: Insufficient value: ") and "insufficient-value" in lines[0]
    assert "Traceback" not in refused.output and refused.stdout == ""
    assert as_json(scf("notes", "show", str(note_id), "--json", key=t1_key))["value"] == "700000.00"

    # cash, financing and settlement: a bank buys the tier-2 note at a discount
    reference = random_hash()
    minted = as_json(
        scf(
            "cash",
            "mint",
            "--member",
            str(bank),
            "--amount",
            "500000.00",
            "--reference",
            reference,
            "--idempotency-key",
            reference,
            "--json",
            key=bank_key,
        )
    )
    replayed = as_json(
        scf(
            "cash",
            "mint",
            "--member",
            str(bank),
            "--amount",
            "500000.00",
            "--reference",
            reference,
            "--idempotency-key",
            reference,
            "--json",
            key=bank_key,
        )
    )
    assert replayed == minted and minted["balance"]["balance"] == "500000.00"
    # the suppliers share their holdings with the bank, so it sees their notes as theirs (else as pseudonyms)
    for grantor in (t1_key, t2_key):
        assert as_json(scf("share", "grant", str(bank), "--json", key=grantor))["active"] is True
    offer = as_json(
        scf(
            "financing",
            "offer",
            "--note",
            str(child["id"]),
            "--value",
            "300000.00",
            "--rate-bps",
            "700",
            "--expires",
            "+1d",
            "--json",
            key=bank_key,
        )
    )
    assert (offer["status"], offer["holder_id"]) == ("open", t2)
    purchase = as_json(scf("financing", "accept", str(offer["id"]), "--json", key=t2_key))
    assert (purchase["seller_id"], purchase["financier_id"]) == (t2, bank)
    balance = as_json(scf("cash", "balance", "--json", key=t2_key))
    assert balance["balance"] == purchase["price"] and 0 < float(purchase["price"]) < 300000
    assert f"{float(purchase['price']):,.2f} CNY" in human(scf("cash", "balance", key=t2_key))
    funding = as_json(scf("settlement", "show", str(slot), "--json", key=core_key))
    assert (funding["funding_status"], funding["unfunded"]) == ("unfunded", "1000000.00")

    # verification, read from the chain; the proof checked locally against the devchain's state root
    onchain = as_json(scf("verify", "note", str(note_id), "--json", key=bank_key))
    assert (onchain["holder"]["member_id"], onchain["value"]) == (t1, "700000.00")
    rpc = ledger.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    proven = as_json(scf("verify", "proof", str(note_id), "--rpc", str(rpc), "--json", key=bank_key))
    assert (proven["note_id"], proven["holder_id"], proven["value"]) == (note_id, t1, 70000000)
    assert "items" in as_json(scf("alerts", "list", "--json"))

    tree = scf("receivables", "tree", str(slot), key=core_key)
    drawn = human(tree)
    assert f"note {note_id}" in drawn and f"note {child['id']}" in drawn and "700,000.00" in drawn


def test_a_supplier_asks_banks_for_financing_with_the_cli(scf: Scf) -> None:
    """`scf financing request` by the holder, `requests` and `answer` by a bank asked, `accept`, `withdraw-request`."""
    core, core_key = admit(scf, "core_enterprise", "--credit-limit", "1000000.00")
    supplier, supplier_key = admit(scf, "supplier")
    bank, bank_key = admit(scf, "financier")
    other, other_key = admit(scf, "financier")
    issue = ["receivables", "issue", "--creditor", str(supplier), "--face-value", "50000.00", "--maturity", "+90d"]
    note_id = as_json(scf(*issue, "--invoice-hash", random_hash(), "--json", key=core_key))["first_note_id"]
    mint = ["cash", "mint", "--member", str(bank), "--amount", "100000.00", "--reference", random_hash()]
    human(scf(*mint, key=bank_key))

    ask = ["financing", "request", "--note", str(note_id), "--value", "20000.00", "--bank", str(bank)]
    made = scf(
        *ask, "--bank", str(other), "--expires", "+10d", "--target-rate-bps", "600", "--no-recourse", key=supplier_key
    )
    shown = human(made)
    assert "Financing request" in shown and "20,000.00" in shown and "open" in shown
    request_id = as_json(scf("financing", "requests", "--note", str(note_id), "--json", key=supplier_key))["items"][0][
        "id"
    ]
    seen = as_json(scf("financing", "requests", "--status", "open", "--json", key=bank_key))["items"]
    assert [(r["id"], r["value"], r["obligor_id"], r["financier_ids"]) for r in seen] == [
        (request_id, "20000.00", core, [bank])
    ]
    answer = ["financing", "answer", str(request_id), "--rate-bps", "650", "--expires", "+5d", "--json"]
    offer = as_json(scf(*answer, key=bank_key))
    assert (offer["note_id"], offer["value"], offer["request_id"]) == (note_id, "20000.00", request_id)
    # a request's offers show with it; a bank not asked sees nothing, and one refusal is one line
    assert f"{offer['id']}" in human(scf("financing", "requests", str(request_id), key=supplier_key))
    refused = scf("financing", "requests", str(request_id), key=admit(scf, "financier")[1])
    assert refused.exit_code == 1 and "not-found" in refused.stderr
    sold = as_json(scf("financing", "accept", str(offer["id"]), "--json", key=supplier_key))
    assert (sold["value"], sold["financier_id"]) == ("20000.00", bank)
    closed = as_json(scf("financing", "requests", str(request_id), "--json", key=supplier_key))
    assert (closed["status"], closed["accepted_offer_id"]) == ("accepted", offer["id"])
    late = scf("financing", "answer", str(request_id), "--rate-bps", "500", "--expires", "+5d", key=other_key)
    assert late.exit_code == 1 and "financing-request-closed" in late.stderr

    again = as_json(scf(*ask, "--expires", "+10d", "--json", key=supplier_key))
    withdrawn = as_json(scf("financing", "withdraw-request", str(again["id"]), "--json", key=supplier_key))
    assert withdrawn["status"] == "withdrawn"


def test_a_bulk_payment_with_the_cli(scf: Scf, tmp_path: Path) -> None:
    _, core_key = admit(scf, "core_enterprise", "--credit-limit", "5000000.00")
    t1, t1_key = admit(scf, "supplier")
    tier2 = [admit(scf, "supplier")[0] for _ in range(3)]
    auditor, _ = admit(scf, "auditor")
    issue = ["receivables", "issue", "--creditor", str(t1), "--face-value", "50000.00", "--maturity", "+90d"]
    note_id = as_json(scf(*issue, "--invoice-hash", random_hash(), "--json", key=core_key))["first_note_id"]

    # one bad recipient (no holding role) refuses the whole batch: one line naming the payment, exit 1
    bad = ["notes", "pay", str(note_id), "--pay", f"{tier2[0]}=1000.00", "--pay", f"{auditor}=1000.00"]
    refused = scf(*bad, key=t1_key)
    assert refused.exit_code == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "payments[1]" in lines[0] and "missing-role" in lines[0], refused.stderr
    assert as_json(scf("notes", "show", str(note_id), "--json", key=t1_key))["value"] == "50000.00"

    csv_file = tmp_path / "payments.csv"
    csv_file.write_text(f"{tier2[1]},2000.00\n{tier2[2]}, 3000.00\n", encoding="utf-8")
    paid = as_json(
        scf("notes", "pay", str(note_id), "--pay", f"{tier2[0]}=1000.00", "--file", str(csv_file), "--json", key=t1_key)
    )
    assert paid["note"]["value"] == "44000.00"
    assert [(n["holder_id"], n["value"]) for n in paid["new_notes"]] == [
        (tier2[0], "1000.00"),
        (tier2[1], "2000.00"),
        (tier2[2], "3000.00"),
    ]
    shown = human(scf("notes", "pay", str(note_id), "--pay", f"{tier2[0]}=500.00", key=t1_key))
    assert "New notes (1 payments)" in shown and "500.00" in shown

    usage = scf("notes", "pay", str(note_id), "--pay", "twelve", key=t1_key)
    assert usage.exit_code == 2 and "MEMBER_ID=VALUE" in usage.output
    assert scf("notes", "pay", str(note_id), key=t1_key).exit_code == 2


def test_a_member_rotates_its_api_key_with_the_cli(scf: Scf) -> None:
    member_id, key = admit(scf, "supplier")
    (first,) = as_json(scf("members", "keys", str(member_id), "--json", key=key))["items"]
    issued = as_json(scf("members", "issue-key", str(member_id), "--label", "erp", "--json", key=key))
    new_key = issued["api_key"]
    shown = human(scf("members", "keys", str(member_id), key=new_key))
    assert first["hint"] in shown and issued["key"]["hint"] in shown and "erp" in shown
    revoked = human(scf("members", "revoke-key", str(member_id), str(first["id"]), key=new_key))
    assert f"API key {first['id']}" in revoked
    assert scf("members", "me", key=key).exit_code != 0  # the old key is refused
    assert as_json(scf("members", "me", "--json", key=new_key))["id"] == member_id


def test_members_admit_takes_a_profile_and_list_searches_by_name(scf: Scf) -> None:
    profile = company(SUPPLIERS[3], " " + random_hash()[2:8])
    flags = ["--legal-name-zh", profile["legal_name_zh"], "--legal-name-en", profile["legal_name_en"]]
    flags += ["--display-name", profile["display_name"], "--uscc", profile["uscc"]]
    out = as_json(scf("members", "admit", "--role", "supplier", *flags, "--json"))
    assert out["member"]["name"] == profile["display_name"]
    assert out["member"]["profile"]["uscc"] == profile["uscc"]
    assert profile["display_name"] in human(scf("members", "show", str(out["member"]["id"])))
    found = as_json(scf("members", "list", "-q", profile["legal_name_zh"], "--json"))["items"]
    assert [m["id"] for m in found] == [out["member"]["id"]]
    assert profile["display_name"] in human(scf("members", "list", "--search", profile["uscc"]))
    # a wrong check character: the API's 422 names the expected one
    wrong = profile["uscc"][:17] + ("0" if profile["uscc"][17] != "0" else "1")
    refused = scf("members", "admit", "--role", "supplier", *flags[:6], "--uscc", wrong)
    assert refused.exit_code != 0 and "check character" in refused.output
    # half a profile is a usage error before anything is sent
    assert scf("members", "admit", "--role", "supplier", "--uscc", profile["uscc"]).exit_code != 0


def test_an_unreachable_api_is_one_error_with_the_hint(tmp_path: Path) -> None:
    env = {"SCF_API_URL": f"http://127.0.0.1:{free_port()}", "SCF_API_KEY": "scf_x", "SCF_CONFIG": None}
    result = runner.invoke(app, ["orders", "list"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the SCF Chain API at http://127.0.0.1:")
    assert "make run" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    debug = runner.invoke(app, ["--debug", "orders", "list"], env=env)
    assert debug.exit_code == 1 and isinstance(debug.exception, ApiUnreachable)  # the traceback, on request


def test_a_missing_key_is_401_with_a_hint(api: ServerThread, tmp_path: Path) -> None:
    env = {"SCF_API_URL": api.url, "SCF_API_KEY": None, "SCF_DATA_DIR": str(tmp_path), "SCF_CONFIG": None}
    result = runner.invoke(app, ["members", "list"], env={**env, "HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert "(401 unauthorized)" in result.stderr and "hint: pass an API key" in result.stderr


def test_the_client_raises_typed_errors(api: ServerThread, operator_key: str) -> None:
    with ApiClient(api.url, operator_key) as client, pytest.raises(ApiError) as refused:
        client.get("/v1/orders/999999999")
    assert (refused.value.status, refused.value.slug, refused.value.title) == (404, "not-found", "Not found")
    assert refused.value.type.endswith("/not-found") and "999999999" in refused.value.detail
    with ApiClient(f"http://127.0.0.1:{free_port()}") as client, pytest.raises(ApiUnreachable) as down:
        client.get("/health")
    assert "make run" in down.value.hint


def test_one_client_acts_with_a_key_per_request_from_several_threads(scf: Scf, api: ServerThread) -> None:
    """`scf seed`'s way: one pool shared by worker threads, each request naming the member key it acts with."""
    member_id, key = admit(scf, "supplier")
    with ApiClient(api.url, max_connections=4) as client:
        with pytest.raises(ApiError) as keyless:
            client.get("/v1/members/me")
        assert keyless.value.status == 401
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(lambda _: client.get("/v1/members/me", api_key=key), range(8)))
    assert {int(answer["id"]) for answer in answers} == {member_id}


def _config_show(tmp_path: Path, *args: str, **env: str | None) -> dict[str, Any]:
    base: dict[str, str | None] = {"SCF_API_URL": None, "SCF_API_KEY": None, "SCF_DATA_DIR": None, "SCF_CONFIG": None}
    result = runner.invoke(app, [*args, "config", "show", "--json"], env={**base, "HOME": str(tmp_path), **env})
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def test_config_precedence_flag_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    secret = "scf_filekey_0123456789abcdef"
    config = tmp_path / "team.toml"
    config.write_text(f'api_url = "http://file:1"\napi_key = "{secret}"\ndata_dir = "/srv/scf"\n')

    from_file = _config_show(tmp_path, "--config", str(config))
    assert from_file["api_url"] == {"value": "http://file:1", "source": f"config {config}"}
    assert from_file["data_dir"]["value"] == "/srv/scf"
    assert from_file["api_key"]["value"] == mask_key(secret) != secret
    assert from_file["config_file"] == str(config)

    from_env = _config_show(tmp_path, "--config", str(config), SCF_API_URL="http://env:2")
    assert from_env["api_url"] == {"value": "http://env:2", "source": "env SCF_API_URL"}
    from_flag = _config_show(tmp_path, "--api", "http://flag:3", "--config", str(config), SCF_API_URL="http://env:2")
    assert from_flag["api_url"] == {"value": "http://flag:3", "source": "--api"}
    assert _config_show(tmp_path, "--key", "scf_flagkey_abcdefghijkl")["api_key"]["source"] == "--key"

    # SCF_CONFIG, then ./scf.toml, then ~/.config/scf/config.toml
    assert _config_show(tmp_path, SCF_CONFIG=str(config))["api_url"]["value"] == "http://file:1"
    (tmp_path / ".config" / "scf").mkdir(parents=True)
    (tmp_path / ".config" / "scf" / "config.toml").write_text('api_url = "http://home:4"\n')
    assert _config_show(tmp_path)["api_url"]["value"] == "http://home:4"
    (tmp_path / "scf.toml").write_text('api_url = "http://cwd:5"\n')
    assert _config_show(tmp_path)["api_url"]["value"] == "http://cwd:5"

    human_show = runner.invoke(app, ["--config", str(config), "config", "show"], env={"HOME": str(tmp_path)})
    assert human_show.exit_code == 0 and secret not in human_show.output and "http://file:1" in human_show.output


def test_the_operator_key_file_is_the_last_resort(tmp_path: Path) -> None:
    (tmp_path / OPERATOR_KEY_FILE).write_text("scf_operator_key_from_the_file\n")
    config = resolve_config(env={"SCF_DATA_DIR": str(tmp_path)}, cwd=tmp_path, home=tmp_path)
    assert config.api_key.value == "scf_operator_key_from_the_file"
    assert config.api_key.source == f"operator key file {tmp_path / OPERATOR_KEY_FILE}"
    with_env = resolve_config(
        env={"SCF_DATA_DIR": str(tmp_path), "SCF_API_KEY": "scf_env"}, cwd=tmp_path, home=tmp_path
    )
    assert (with_env.api_key.value, with_env.api_key.source) == ("scf_env", "env SCF_API_KEY")
    nothing = resolve_config(env={}, cwd=tmp_path / "empty", home=tmp_path)
    assert (nothing.api_url.value, nothing.api_key.value, nothing.data_dir.value) == (
        "http://127.0.0.1:8000",
        None,
        ".scf",
    )


def test_the_service_record_names_the_api_and_node_make_run_used(tmp_path: Path) -> None:
    """`SCF_API_PORT=9000 SCF_RPC_PORT=9545 make run`, then a plain `scf ...` in another terminal: the data dir's
    record, written by `scf serve`, gives the API's and the node's URLs; the service's own variables win over it."""
    from scripts.client import node_rpc_url, write_service_record

    write_service_record(tmp_path, api_url="http://127.0.0.1:9000", rpc_url="http://127.0.0.1:9545")
    env = {"SCF_DATA_DIR": str(tmp_path)}
    config = resolve_config(env=env, cwd=tmp_path, home=tmp_path)
    assert config.api_url.value == "http://127.0.0.1:9000"
    assert config.api_url.source == f"service record {tmp_path / 'service.json'}"
    assert node_rpc_url("http://127.0.0.1:8545", tmp_path, env=env) == "http://127.0.0.1:9545"

    ported = resolve_config(env={**env, "SCF_API_PORT": "9100"}, cwd=tmp_path, home=tmp_path)
    assert ported.api_url.value == "http://127.0.0.1:9100"
    assert node_rpc_url("http://127.0.0.1:9645", tmp_path, env={"SCF_RPC_PORT": "9645"}) == "http://127.0.0.1:9645"
    explicit = resolve_config(env={**env, "SCF_API_URL": "http://elsewhere:1"}, cwd=tmp_path, home=tmp_path)
    assert explicit.api_url.value == "http://elsewhere:1"


def test_a_bad_config_file_is_one_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('api = "http://typo"\n')
    result = runner.invoke(app, ["--config", str(config), "members", "list"], env={"HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: config file") and "unknown keys ['api']" in result.stderr
    missing = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "config", "show"])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr


def test_help_mentions_every_group_and_command() -> None:
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for group in [*GROUPS, "status", "compile", "demo", "verify-proof"]:
        assert group in top.output
    for group, commands in GROUPS.items():
        result = runner.invoke(app, [group, "--help"])
        assert result.exit_code == 0, result.output
        commands_part = result.output.split("Commands:", 1)[1]  # plain help pages (no rich boxes)
        listed = {line.split()[0] for line in commands_part.splitlines() if line.startswith("  ") and line.split()}
        assert set(commands) <= listed, (group, sorted(set(commands) - listed))


def test_unknown_commands_and_missing_arguments_are_usage_errors() -> None:
    unknown = runner.invoke(app, ["orders", "frobnicate"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output
    missing = runner.invoke(app, ["notes", "split", "1", "--to", "2"])
    assert missing.exit_code == 2 and "--value" in missing.output


def test_status_prints_why_the_api_is_degraded(settings: Any, ledger: Ledger, tmp_path: Path) -> None:
    # an API whose data dir has no deployment record for the session chain: degraded, no-deployment
    (tmp_path / "other").mkdir()
    lost = make_settings(tmp_path / "other", settings.rpc_port)
    with ServerThread(lost) as server:
        env = {"SCF_API_URL": server.url, "SCF_DATA_DIR": str(tmp_path / "none"), "SCF_CONFIG": None}
        output = human(runner.invoke(app, ["status"], env={**env, "HOME": str(tmp_path)}))
    assert "API degraded" in output
    assert "degraded: no-deployment: no deployment of the suite is recorded" in output


def test_relative_days_grammar() -> None:
    from scripts.commands.common import relative_days

    assert [relative_days(t) for t in ("today", "Tomorrow", "+30d", "+2w", " +0d ")] == [0, 1, 30, 14, 0]
    assert [relative_days(t) for t in ("2026-12-31", "next week", "30d", "+d", "-1d", "")] == [None] * 6


def test_dates_accept_words_and_weeks_and_name_the_grammar_otherwise(scf: Scf, ledger: Ledger) -> None:
    core, _ = admit(scf, "core_enterprise", "--credit-limit", "1000000.00")
    _, t1_key = admit(scf, "supplier")

    def propose(due: str) -> Result:
        args = ["--buyer", str(core), "--amount", "1000.00", "--document-hash", random_hash(), "--due", due]
        return scf("orders", "propose", *args, "--json", key=t1_key)

    today = chain_today(ledger)
    assert as_json(propose("tomorrow"))["due_date"] == (today + timedelta(days=1)).isoformat()
    assert as_json(propose("+2w"))["due_date"] == (today + timedelta(days=14)).isoformat()
    listed = as_json(scf("orders", "list", "--json", key=t1_key))["items"]
    refused = propose("next tuesday")
    assert refused.exit_code == 1, refused.output
    assert "--due 'next tuesday' is not a date: use YYYY-MM-DD, today, tomorrow, +Nd or +Nw" in refused.stderr
    assert "too short" not in refused.output and "Traceback" not in refused.output
    assert as_json(scf("orders", "list", "--json", key=t1_key))["items"] == listed  # nothing was sent


def test_maturity_to_the_second_with_an_offset(scf: Scf, ledger: Ledger) -> None:
    """`--maturity` passes an RFC 3339 timestamp with its offset through: the end of a day in Beijing is 15:59:59
    UTC; without an offset the API's 422 comes back as one line asking for it."""
    _core, core_key = admit(scf, "core_enterprise", "--credit-limit", "1000.00")
    supplier, _ = admit(scf, "supplier")
    day = chain_today(ledger) + timedelta(days=30)

    def issue(maturity: str) -> Result:
        return scf(
            "receivables", "issue", "--creditor", str(supplier), "--face-value", "10.00", "--maturity", maturity,
            "--invoice-hash", random_hash(), "--json", key=core_key,
        )  # fmt: skip

    issued = as_json(issue(f"{day}T23:59:59+08:00"))
    assert datetime.fromisoformat(issued["maturity"]) == datetime(day.year, day.month, day.day, 15, 59, 59, tzinfo=UTC)
    refused = issue(f"{day}T23:59:59")
    assert refused.exit_code == 1 and "offset" in refused.stderr and "validation-error" in refused.stderr
