"""The service section's profile summary (bench.profile_parts) and its target verdicts (bench.report_writes)."""

from __future__ import annotations

from pathlib import Path

from bench.profile_parts import summarise
from bench.reads import markdown
from bench.report_writes import target_lines


def test_profile_parts_innermost_part_gets_the_sample(tmp_path: Path) -> None:
    profile = tmp_path / "stacks.txt"
    profile.write_text(
        "run (/venv/site-packages/starlette/routing.py:10);split (/repo/api/writes.py:5);"
        "sign (/venv/site-packages/eth_account/account.py:3) 3\n"
        "run (/venv/site-packages/starlette/routing.py:10);execute (/venv/site-packages/sqlalchemy/engine.py:1) 1\n"
        "run (/usr/lib/python3.11/threading.py:980);other (/usr/lib/python3.11/json/encoder.py:3) 1\n"
        "run (/usr/lib/python3.11/threading.py:980);Condition.wait (threading.py:320) 5\n"
    )
    parts, waiting = summarise(profile)
    assert waiting == 50.0  # 5 of 10 samples blocked on a condition: not CPU
    signing = next(v for k, v in parts.items() if k.startswith("signing"))
    http = next(v for k, v in parts.items() if k.startswith("HTTP framework"))
    assert signing == {"self_pct": 60.0, "inclusive_pct": 60.0}
    assert http == {"self_pct": 0.0, "inclusive_pct": 80.0}  # on the stack of 4 samples, innermost in none
    assert next(v for k, v in parts.items() if k.startswith("other"))["self_pct"] == 20.0
    assert next(v for k, v in parts.items() if k.startswith("SQLAlchemy"))["self_pct"] == 20.0


def test_profile_parts_tells_json_rpcs_own_transport_from_its_json(tmp_path: Path) -> None:
    """chain/node/rpc.py holds both the HTTP transport (its `_Connection`, opening one) and the JSON-RPC layer: the
    first counts as the node RPC transport, as http.client did, the second as the node RPC."""
    profile = tmp_path / "stacks.txt"
    call = "JsonRpc.call (chain/node/rpc.py:214);JsonRpc._post (chain/node/rpc.py:201)"
    profile.write_text(
        f"{call};_Connection.exchange (chain/node/rpc.py:127) 2\n"
        f"{call};JsonRpc._connect (chain/node/rpc.py:170);create_connection (socket.py:836) 1\n"
        f"{call};loads (json/__init__.py:346) 1\n"
    )
    parts, _waiting = summarise(profile)
    transport = next(v for k, v in parts.items() if k.startswith("node RPC transport"))
    rpc = next(v for k, v in parts.items() if k.startswith("node RPC (chain/node/rpc.py)"))
    assert transport == {"self_pct": 75.0, "inclusive_pct": 75.0}
    assert rpc == {"self_pct": 25.0, "inclusive_pct": 100.0}


def test_target_verdicts_with_ratios() -> None:
    results = {
        "service": {"duration_s": 60.0},
        "api_cpu_ms_per_split": 12.0,
        "floor_cpu_ms_per_split": 2.0,
        "service_splits_per_s_128": 160.0,
        "write_p99_ms_128": 1200.0,
        "write_p50_ms_128": 600.0,
    }
    text = "\n".join(target_lines(results))
    assert "| 12.00 ms | <= 6 ms | **not met** | 2.00 |" in text
    assert "service / floor 6.0x" in text
    assert "| 160.0 | >= 150 for 60 s | **met** | 1.07 |" in text
    assert "| 1200 ms | < 1500 ms | **met** | 0.80 |" in text


def test_read_targets_per_backend() -> None:
    from bench.reads import pg_bench_url
    from bench.reads import target_lines as read_target_lines

    case = {"p99_ms": 0.0, "cpu_ms_per_req": 0.0}
    results = {
        "reads": {
            "backends": [{"backend": "sqlite", "sizes": {"1000000": {}}}, {"backend": "postgresql", "sizes": {}}]
        },
        "holdings_p99_ms_1m_4clients": 20.0,
        "holdings_big_p99_ms_1m_4clients": 60.0,
        "verify_p99_ms_1m_4clients": 25.0,
        "read_cpu_ms_per_req_1m_4clients": 4.5,
        "unused": case,
    }
    text = "\n".join(read_target_lines(results))
    assert "(`holdings_p99_ms_1m_4clients`) | 20.0 ms | < 25 ms | **met** | 0.80 |" in text
    assert "(`holdings_big_p99_ms_1m_4clients`) | 60.0 ms | < 50 ms | **not met** | 1.20 |" in text
    assert "(`verify_p99_ms_1m_4clients`) | 25.0 ms | < 25 ms | **not met** | 1.00 |" in text  # "< 25 ms"
    assert "| 4.5 ms | <= 3 ms | **not met** | 1.50 |" in text
    assert "postgresql" not in text  # no 1M figures from PostgreSQL in this run: no rows claimed for it
    assert pg_bench_url({}) is None
    assert pg_bench_url({"SCF_BENCH_PG_URL": "postgresql+psycopg://u@/db"}) == "postgresql+psycopg://u@/db"


def test_a_partial_read_run_prints_its_cases() -> None:
    """`python -m bench.reads --cases note,...` prints the cases it ran (it raised KeyError on the ones it did not)."""
    measured = {"p50_ms": 4.0, "p99_ms": 9.0, "req_per_s": 300.0, "cpu_ms_per_req": 1.5, "client_cpu_ms_per_req": 0.3}
    backend = {"backend": "postgresql", "sizes": {"100000": {"note": measured}}}
    results = {"reads": {"clients": 4, "requests": 10, "workers": 0, "backends": [backend]}}
    text = "\n".join(markdown(results))
    assert "| postgresql | 100,000 | note |  | 4.0 | **9.0** |" in text
    assert "holdings_big" not in text.split("| backend | notes |")[1]
