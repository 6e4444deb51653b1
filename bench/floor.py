"""The CPU floor of a split (`python -m bench.floor`, started by bench.service): a bare FastAPI app with one route,
`POST /v1/notes/{id}/split`, that signs and sends the same split transaction the service sends and answers after
the send. No database, no indexer, no audit, no idempotency, no pre-flight, no wait for the block: what the HTTP
framework, the ABI encoding, the signature and the send cost on their own, measured beside the service in the
same run (bench/service.py).

Same pieces as the product: `chain.node.contracts.ContractCall` encodes the call (eth-abi), `chain.node.txsign.TxKey`
signs it (RLP + coincurve, as `chain.node.signer.TransactionQueue`), `chain.node.rpc.JsonRpc` sends it; a sync route
(FastAPI's thread pool, as the service's split route), served by uvicorn with the product's settings (`scf serve`:
`uvicorn.run(app, host, port, log_level="info", log_config=api.logs.log_config(...))`). Each account's
nonce is kept in memory (read once from the node's pending count).

Configuration (environment, set by bench.service): SCF_FLOOR_PORT, SCF_FLOOR_RPC_URL, SCF_FLOOR_NOTES (the
ReceivableNotes address), SCF_FLOOR_RECIPIENT (the new notes' holder) and SCF_FLOOR_KEYS (JSON: bearer token ->
private key hex).
"""

from __future__ import annotations

import json
import os
import threading
from decimal import Decimal
from typing import Annotated, Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel

from bench.rpc import MAX_FEE, TIP
from bench.workload import SPLIT_GAS, SPLIT_SIG
from chain.node.contracts import ContractCall
from chain.node.rpc import JsonRpc
from chain.node.txsign import TxKey


class SplitIn(BaseModel):
    to: int
    value: Decimal


class _Account:
    def __init__(self, key: str) -> None:
        self.account: LocalAccount = Account.from_key(key)
        self.key = TxKey(self.account.key, self.account.address)
        self.nonce: int | None = None
        self.lock = threading.Lock()


def create_app(rpc_url: str, notes: str, recipient: str, keys: dict[str, str]) -> FastAPI:
    rpc = JsonRpc(rpc_url)
    chain_id = int(rpc.call("eth_chainId"), 16)
    accounts = {token: _Account(key) for token, key in keys.items()}
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/notes/{note_id}/split", status_code=201)
    def split(note_id: int, body: SplitIn, authorization: Annotated[str, Header()]) -> dict[str, Any]:
        holder = accounts.get(authorization.removeprefix("Bearer "))
        if holder is None:
            raise HTTPException(401)
        data = ContractCall("ReceivableNotes", SPLIT_SIG, (note_id, recipient, int(body.value * 100))).data()
        with holder.lock:  # nonce, signature and send in nonce order, as the service's queue
            if holder.nonce is None:
                holder.nonce = int(rpc.call("eth_getTransactionCount", holder.account.address, "pending"), 16)
            fields: dict[str, Any] = {
                "type": 2,
                "chainId": chain_id,
                "nonce": holder.nonce,
                "to": notes,
                "value": 0,
                "data": data,
                "gas": SPLIT_GAS,
                "maxFeePerGas": MAX_FEE,
                "maxPriorityFeePerGas": TIP,
            }
            raw, _hash = holder.key.sign_1559(fields)
            tx_hash = rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
            holder.nonce += 1
        return {"tx_hash": tx_hash, "note_id": note_id}

    return app


def main() -> None:
    import uvicorn

    from api.logs import log_config
    from api.settings import Settings

    app = create_app(
        os.environ["SCF_FLOOR_RPC_URL"],
        os.environ["SCF_FLOOR_NOTES"],
        os.environ["SCF_FLOOR_RECIPIENT"],
        json.loads(os.environ["SCF_FLOOR_KEYS"]),
    )
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["SCF_FLOOR_PORT"]),
        log_level="info",
        log_config=log_config(Settings().log_format),
    )


if __name__ == "__main__":
    main()
