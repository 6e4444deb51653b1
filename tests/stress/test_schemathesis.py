"""`make stress`: schemathesis's own runner against the service, with a fixed seed: every phase (examples,
coverage, fuzzing, stateful links), positive and negative data, every check. It must report no response >= 500
and no response that breaks the published schema (status, content type, body, headers).

A private world (anvil, deployed suite, uvicorn) with the small supply chain of tests/api/test_fuzz_openapi.py,
so that generated ids sometimes name real objects; the run uses a supplier's key (and leaves out revoking API
keys: the run would revoke its own). Bounded by SCF_FUZZ_SECONDS
(default 600) and SCF_FUZZ_EXAMPLES per operation (default 20); the counts are printed and written to
test-output/schemathesis.json (with SCF_STRESS_RESULTS' directory). Other checks (for example schema-valid
data a business rule refuses) are reported, not asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_fuzz_openapi import _build_supply_chain
from tests.conftest import private_world

SEED = 19
SECONDS = int(os.environ.get("SCF_FUZZ_SECONDS", "600"))
EXAMPLES = int(os.environ.get("SCF_FUZZ_EXAMPLES", "20"))
# what the service promises: no 5xx, every answer as documented
ASSERTED = {"not_a_server_error", "status_code_conformance", "content_type_conformance",
            "response_headers_conformance", "response_schema_conformance"}  # fmt: skip


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _tally(events: list[dict[str, Any]]) -> tuple[Counter[int], Counter[str], dict[str, str]]:
    """Response status codes, failed checks by name and one failure of each, from schemathesis's NDJSON events."""
    statuses: Counter[int] = Counter()
    failed: Counter[str] = Counter()
    sample: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            response = node.get("response")
            if isinstance(response, dict) and isinstance(response.get("status_code"), int):
                statuses[response["status_code"]] += 1
            if str(node.get("status")).lower() == "failure" and isinstance(node.get("name"), str):
                failed[node["name"]] += 1
                sample.setdefault(node["name"], json.dumps(node.get("failure_info"))[:600])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for event in events:
        walk(event)
    return statuses, failed, sample


@pytest.mark.stress
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path_factory: pytest.TempPathFactory) -> None:
    target = os.environ.get("SCF_STRESS_RESULTS")
    out = Path(target).parent if target else tmp_path_factory.mktemp("schemathesis")
    out.mkdir(parents=True, exist_ok=True)
    with private_world(Path(tmp_path_factory.mktemp("fuzz-world"))) as world:
        keys = _build_supply_chain(world)
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{world.server.url}/openapi.json",
            "--checks", "all", "--mode", "all", "--phases", "examples,coverage,fuzzing,stateful",
            "--seed", str(SEED), "--max-examples", str(EXAMPLES),
            "--max-time", str(SECONDS), "--continue-on-failure", "--workers", "1", "--no-shrink",
            "--request-timeout", "120", "--generation-with-security-parameters", "false",
            "--header", f"Authorization: Bearer {keys['supplier']}",
            # revoking its own key would leave the run unauthenticated (every answer after it a 401)
            "--exclude-path-regex", "/api-keys/[^/]+/revoke$",
            "--report", "ndjson", "--report-ndjson-path", str(out / "events.ndjson"),
        ]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 600, check=False)
    statuses, failed, sample = _tally(_events(out / "events.ndjson"))
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    violations = {name: n for name, n in failed.items() if name in ASSERTED}
    summary = {
        "seed": SEED,
        "responses": sum(statuses.values()),
        "by_status": {str(k): v for k, v in sorted(statuses.items())},
        "responses_5xx": server_errors,
        "schema_violations": sum(violations.values()),
        "failed_checks": dict(failed),
        "one_failure_of_each": sample,
        "exit_code": run.returncode,
    }
    print(json.dumps(summary, indent=2))
    print(run.stdout[-4000:])
    (out / "schemathesis.json").write_text(json.dumps(summary, indent=2))
    assert summary["responses"] > 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert server_errors == 0, summary
    assert violations == {}, summary
