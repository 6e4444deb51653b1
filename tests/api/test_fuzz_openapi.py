"""schemathesis against the running service's own OpenAPI spec: no 5xx, every answer matches the spec.

A private world (anvil, deployed suite, SQLite read model, uvicorn on a free port) with a small supply chain
built through the API, so that generated ids sometimes name real objects. Every operation of the spec is
fuzzed with positive (schema-valid) and negative (schema-violating) cases, once with a supplier's key and
once with the operator's key (the operator's run goes last: it may suspend members or rotate their keys).
Each answer is checked by schemathesis for: no 5xx, response body conforming to the documented schema,
content type as documented, and (negative cases) invalid input rejected with a 4xx. Failures are collected,
not raised one at a time, so a single run reports every distinct failure and the number of cases sent.

Fast by default (a few examples per operation and mode); SCF_STRESS=1 raises the count.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from tests.conftest import PrivateWorld, ok, private_world, random_hash, with_mint_ceiling

STRESS = os.environ.get("SCF_STRESS") == "1"
EXAMPLES = 15 if STRESS else 3
CALLERS = ("supplier", "bank", "core", "operator") if STRESS else ("supplier", "operator")
# Unknown query parameters are ignored (not a spec violation), and the caller's key is always sent: negative
# cases must break the documented parameters and bodies, not add extras or drop the Authorization header.
CONFIG = SchemathesisConfig.from_dict(
    {"generation": {"allow-extra-parameters": False, "with-security-parameters": False}}
)
CHECKS: list[Callable[..., Any]] = [not_a_server_error, response_schema_conformance, content_type_conformance]


@dataclass
class FuzzRun:
    cases: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # one message per (operation, check, status)
    seconds: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateWorld, dict[str, str]]]:
    with private_world(Path(tmp_path_factory.mktemp("fuzz"))) as world:
        keys = _build_supply_chain(world)
        yield world, keys


def _build_supply_chain(world: PrivateWorld) -> dict[str, str]:
    """A core enterprise, two suppliers and a bank; an order, a receivable split once, an offer, cash."""
    url = world.server.url
    op = httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {world.operator_key}"})
    keys: dict[str, str] = {"operator": world.operator_key}
    ids: dict[str, int] = {}
    for name, roles, extra in [
        ("core", ["core_enterprise"], {"credit_limit": "1000000.00"}),
        ("supplier", ["supplier"], {}),
        ("supplier2", ["supplier"], {}),
        ("bank", ["financier"], {}),
    ]:
        body = ok(
            op.post("/v1/members", json=with_mint_ceiling(roles, {"roles": roles, "kyc_hash": random_hash(), **extra})),
            201,
        )
        keys[name], ids[name] = body["api_key"], body["member"]["id"]

    def client(name: str) -> httpx.Client:
        return httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {keys[name]}"})

    day = (date.today() + timedelta(days=60)).isoformat()
    with client("core") as core, client("supplier") as supplier, client("bank") as bank:
        ok(bank.post("/v1/cash/mint", json={"member_id": ids["bank"], "amount": "100000.00", "reference": "own"}), 201)
        order = {"buyer_id": ids["core"], "amount": "5000.00", "document_hash": random_hash(), "due_date": day}
        order_id = ok(supplier.post("/v1/orders", json=order), 201)["id"]
        ok(core.post(f"/v1/orders/{order_id}/confirm"))
        receivable = {"creditor_id": ids["supplier"], "face_value": "9000.00", "maturity": day}
        note_id = ok(core.post("/v1/receivables", json={**receivable, "invoice_hash": random_hash()}), 201)[
            "first_note_id"
        ]
        ok(supplier.post(f"/v1/notes/{note_id}/split", json={"to": ids["supplier2"], "value": "1000.00"}), 201)
        offer = {"note_id": note_id, "value": "500.00", "rate_bps": 500, "recourse": False, "expires_at": day}
        ok(bank.post("/v1/financing/offers", json=offer), 201)
    op.close()
    return keys


def _prober(operation: Any, mode: GenerationMode, base_url: str, key: str, run: FuzzRun) -> Callable[[], None]:
    """A hypothesis test sending `EXAMPLES` generated cases of `operation` and recording every check failure."""
    headers = {"Authorization": f"Bearer {key}"}
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=120)
        run.cases += 1
        run.by_status[response.status_code] = run.by_status.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                tag = f"{operation.label} [{mode.value}] {failure.title} -> {response.status_code}"
                detail = f"{failure.message[:300]}\n    {case.method} {case.formatted_path} body={case.body!r:.200}"
                run.failures.setdefault(tag, f"{detail}\n    {response.text[:300]}")

    return send  # type: ignore[no-any-return]


def _fuzz(schema: Any, base_url: str, key: str, run: FuzzRun) -> None:
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.monotonic()
            with contextlib.suppress(Unsatisfiable):  # negative mode with nothing to break (no parameters, no body)
                _prober(result.ok(), mode, base_url, key, run)()
            run.seconds[f"{result.ok().label} [{mode.value}]"] = time.monotonic() - started


@pytest.mark.chain
def test_openapi_fuzz_no_5xx_no_schema_violations(fuzz_world: tuple[PrivateWorld, dict[str, str]]) -> None:
    world, keys = fuzz_world
    base_url = world.server.url
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=CONFIG)
    run = FuzzRun()
    for who in CALLERS:  # the operator last: it may suspend members or rotate their keys
        _fuzz(schema, base_url, keys[who], run)
    slowest = sorted(run.seconds.items(), key=lambda item: -item[1])[:8]
    print("\nslowest:", ", ".join(f"{label} {seconds:.1f}s" for label, seconds in slowest))
    print(f"schemathesis: {run.cases} cases, status counts {dict(sorted(run.by_status.items()))}")
    assert run.cases > 0
    assert not [s for s in run.by_status if s >= 500], run.failures
    assert not run.failures, "\n".join(f"{tag}: {message}" for tag, message in sorted(run.failures.items()))


def test_openapi_documents_every_error_as_problem_json(http: httpx.Client) -> None:
    """Regression: FastAPI documented 422 as application/json with its own body; the service sends problem+json."""
    spec = ok(http.get("/openapi.json"))
    assert set(spec["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, path_item in spec["paths"].items():
        for method, operation in path_item.items():
            responses = operation["responses"]
            assert responses["default"]["content"] == problem_ref, f"{method} {path}"
            for code, response in responses.items():
                if code[0] in "45":
                    assert response["content"] == problem_ref, f"{method} {path} {code}"
    assert "422" in spec["paths"]["/v1/orders"]["post"]["responses"]
    refused = http.post("/v1/orders", json={"buyer_id": "x"}, headers={"Authorization": "Bearer nope"})
    assert refused.headers["content-type"] == "application/problem+json"


HUGE_IDS = (2**63, 2**64, 10**30)  # beyond what the read model stores (signed 64-bit): must be 404/422, never 500


@pytest.mark.chain
def test_ids_beyond_the_read_model_are_refused_not_crashed(fuzz_world: tuple[PrivateWorld, dict[str, str]]) -> None:
    """Regression: `POST /v1/cash/mint` with member_id 2**64 answered 500 (SQLite integer overflow)."""
    world, keys = fuzz_world
    spec = httpx.get(f"{world.server.url}/openapi.json", timeout=60).json()
    day = (date.today() + timedelta(days=30)).isoformat()
    bodies: dict[str, tuple[str, Callable[[int], dict[str, Any]]]] = {
        "/v1/cash/mint": ("bank", lambda i: {"member_id": i, "amount": "1.00", "reference": "huge"}),
        "/v1/cash/transfers": ("bank", lambda i: {"to": i, "amount": "1.00"}),
        "/v1/orders": ("supplier", lambda i: {"buyer_id": i, "amount": "1.00", "document_hash": random_hash(),
                                              "due_date": day}),
        "/v1/receivables": ("core", lambda i: {"creditor_id": i, "face_value": "1.00", "maturity": day,
                                               "invoice_hash": random_hash()}),
        "/v1/financing/offers": ("bank", lambda i: {"note_id": i, "value": "1.00", "rate_bps": 1, "recourse": False,
                                                    "expires_at": day}),
        "/v1/financing/loans": ("bank", lambda i: {"order_id": i, "principal": "1.00", "rate_bps": 1, "due_date": day}),
        "/v1/members/me/shares": ("supplier", lambda i: {"financier_id": i}),
        "/v1/financing/requests": ("supplier", lambda i: {"note_id": i, "value": "1.00", "financier_ids": [1],
                                                          "expires_at": day}),
        "/v1/financing/requests ": ("supplier", lambda i: {"note_id": 1, "value": "1.00", "financier_ids": [i],
                                                           "expires_at": day}),
    }  # fmt: skip
    crashed = []
    for huge in HUGE_IDS:
        for path, (who, body) in bodies.items():
            response = httpx.post(
                f"{world.server.url}{path.strip()}", json=body(huge), headers={"Authorization": f"Bearer {keys[who]}"}
            )
            if not 400 <= response.status_code < 500 or response.headers["content-type"] != "application/problem+json":
                crashed.append(f"POST {path} {huge}: {response.status_code} {response.text[:200]}")
        for template, operations in spec["paths"].items():
            if "{" not in template:
                continue
            path = "/".join(str(huge) if part.startswith("{") else part for part in template.split("/"))
            for method in operations:
                for who in ("supplier", "operator"):
                    response = httpx.request(
                        method, f"{world.server.url}{path}", headers={"Authorization": f"Bearer {keys[who]}"}
                    )
                    if not 400 <= response.status_code < 500:
                        crashed.append(
                            f"{method.upper()} {path} as {who}: {response.status_code} {response.text[:200]}"
                        )
        for template, operations in spec["paths"].items():
            for parameter in operations.get("get", {}).get("parameters", []):
                if parameter["in"] == "query" and "integer" in json.dumps(parameter["schema"]):
                    path = "/".join("1" if part.startswith("{") else part for part in template.split("/"))
                    response = httpx.get(
                        f"{world.server.url}{path}",
                        params={parameter["name"]: str(huge)},
                        headers={"Authorization": f"Bearer {world.operator_key}"},
                    )
                    if not 400 <= response.status_code < 500:
                        crashed.append(f"GET {path}?{parameter['name']}={huge}: {response.status_code}")
    # regression: a non-ASCII digit ("³".isdigit() is True) in a query value crashed the id guard itself
    superscript = httpx.get(
        f"{world.server.url}/v1/orders", params={"cursor": "³"}, headers={"Authorization": f"Bearer {keys['supplier']}"}
    )
    if superscript.status_code != 422:
        crashed.append(f"GET /v1/orders?cursor=³: {superscript.status_code}")
    assert not crashed, "\n".join(crashed)
