"""The serving process's log records (api/logs.py `lean_records`): lean when the app is served alone, left alone
otherwise, and the lines the same either way.

Each case builds the app in a process of its own: the switches are the logging module's, for the whole process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

_PROBE = """
import io, json, logging, logging.config, sys
from pathlib import Path
from fastapi.testclient import TestClient
from api.logs import REQUEST_ID, log_config
from api.main import create_app
from api.settings import Settings

def switches():
    return {"srcfile": logging._srcfile is not None, "threads": logging.logThreads,
            "processes": logging.logProcesses, "multiprocessing": logging.logMultiprocessing}

def line(fmt):
    logging.config.dictConfig(log_config(fmt))
    stream = io.StringIO()
    logging.getLogger("uvicorn.access").handlers[0].setStream(stream)
    token = REQUEST_ID.set("rid-1")
    try:
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "POST", "/x", "1.1", 201)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("scf.ledger").exception("failed: %s", "why")
    finally:
        REQUEST_ID.reset(token)
    return stream.getvalue()

settings = Settings(data_dir=Path(sys.argv[1]), rpc_url="http://127.0.0.1:9")  # no chain: never reached here
before = switches()
app = create_app(settings, background_indexer=False, tune_gc=sys.argv[2] == "tuned")
with TestClient(app):
    during = switches()
print(json.dumps({"before": before, "during": during, "text": line("text"), "json": line("json")}))
"""


def _served(tmp_path: Path, mode: str) -> dict[str, object]:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path), mode], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


_ACCESS = re.compile(
    r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO uvicorn\.access \[rid-1\] 127\.0\.0\.1:1 - "POST /x HTTP/1\.1" 201$'
)


def _check_lines(state: dict[str, object]) -> None:
    text = str(state["text"]).splitlines()
    assert _ACCESS.match(text[0]), text
    assert re.match(r"^\d{4}-.* ERROR scf\.ledger \[rid-1\] failed: why$", text[1]), text
    assert text[2] == "Traceback (most recent call last):" and text[-1] == "ValueError: boom", text
    records = [json.loads(x) for x in str(state["json"]).splitlines()]
    assert records[0]["message"] == '127.0.0.1:1 - "POST /x HTTP/1.1" 201'
    assert {k: records[0][k] for k in ("level", "logger", "request_id")} == {
        "level": "INFO",
        "logger": "uvicorn.access",
        "request_id": "rid-1",
    }
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}$", records[0]["time"]), records[0]
    assert records[1]["message"] == "failed: why" and "ValueError: boom" in records[1]["exc_info"], records[1]


def test_a_served_app_makes_lean_log_records_with_the_same_lines(tmp_path: Path) -> None:
    state = _served(tmp_path, "tuned")
    assert state["before"] == {"srcfile": True, "threads": True, "processes": True, "multiprocessing": True}
    assert state["during"] == {"srcfile": False, "threads": False, "processes": False, "multiprocessing": False}
    _check_lines(state)


def test_an_app_built_in_another_process_leaves_its_log_records_alone(tmp_path: Path) -> None:
    state = _served(tmp_path, "plain")
    assert state["during"] == state["before"]
    _check_lines(state)
