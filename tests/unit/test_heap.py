"""The serving process's garbage collector (api/heap.py): tuned when the app is served alone, left alone otherwise.

Each case builds the app in a process of its own: freezing the heap is for good, and pytest's process builds many
apps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from api.heap import GC_THRESHOLDS

_PROBE = """
import gc, json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from api.main import create_app
from api.settings import Settings

settings = Settings(data_dir=Path(sys.argv[1]), rpc_url="http://127.0.0.1:9")  # no chain: never reached here
before = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
app = create_app(settings, background_indexer=False, tune_gc=sys.argv[2] == "tuned")
with TestClient(app):
    during = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
print(json.dumps({"before": before, "during": during}))
"""


def _gc_of_app(tmp_path: Path, mode: str) -> dict[str, dict[str, object]]:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path), mode], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, dict[str, object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_served_app_freezes_its_heap_and_collects_its_young_objects_less_often(tmp_path: Path) -> None:
    state = _gc_of_app(tmp_path, "tuned")
    assert state["before"]["frozen"] == 0
    assert state["during"]["threshold"] == list(GC_THRESHOLDS)
    frozen = state["during"]["frozen"]
    assert isinstance(frozen, int) and frozen > 10_000  # modules, mappers, routes: the long-lived heap


def test_an_app_built_in_another_process_leaves_its_collector_alone(tmp_path: Path) -> None:
    state = _gc_of_app(tmp_path, "plain")
    assert state["during"] == state["before"]
