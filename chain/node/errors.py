"""Exception hierarchy of the chain layer: one root, specific subclasses carrying fields."""

from __future__ import annotations

import re


class ScfError(Exception):
    """Root of every error raised by SCF Chain's Python code."""


class ToolchainError(ScfError):
    """A required tool (node, npm, solc, anvil, forge) is missing or broken."""


class CompileError(ScfError):
    """The Solidity compiler reported errors."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("Solidity compilation failed:\n" + "\n".join(messages))


class PortInUseError(ScfError):
    """A TCP port the product needs is taken."""

    def __init__(self, port: int, setting: str) -> None:
        self.port = port
        self.setting = setting
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use; stop whatever listens there "
            f"or choose another port with {setting}=<port>"
        )


class StateFileError(ScfError):
    """The persisted chain state cannot be used; the file is left untouched."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"refusing to start: chain state file {path} is unusable ({reason}). "
            "It was not modified. Restore it from a backup (the previous good copy is kept "
            "beside it as *.prev), or move it away to start an empty ledger."
        )


class ChainUnavailableError(ScfError):
    """The JSON-RPC endpoint does not answer."""


class DeploymentError(ScfError):
    """Deploying or verifying the contract suite failed."""


class TransactionError(ScfError):
    """A transaction could not be sent or confirmed (not a contract revert: see ContractRevertError)."""


class TransactionRejectedError(TransactionError):
    """The node refused a signed transaction (e.g. insufficient funds); nothing was sent, no nonce used."""

    def __init__(self, sender: str, nonce: int | None, reason: str) -> None:
        self.sender = sender
        self.nonce = nonce  # None: refused during pre-flight, before a nonce was allocated
        self.reason = reason
        at = f" (nonce {nonce})" if nonce is not None else ""
        super().__init__(f"the node rejected the transaction from {sender}{at}: {reason}")


class ReceiptMissingError(TransactionError):
    """The node lists one of the transaction's versions in a block but has no receipt for it (its stored state is
    damaged: anvil can lose the last block's receipts when stopped while mining). The transaction did execute,
    so it is never sent again; its outcome (events) cannot be read from this node."""

    def __init__(self, sender: str, nonce: int, tx_hash: str, block: int) -> None:
        self.sender = sender
        self.nonce = nonce
        self.tx_hash = tx_hash
        self.block = block
        super().__init__(
            f"transaction {tx_hash} from {sender} (nonce {nonce}) is in block {block}, but the node has no receipt "
            "for it, so its result cannot be read; it will not be sent again. The node's stored chain is damaged "
            "(docs/errors.md, receipt-missing)"
        )


class TransactionClaimedError(TransactionError):
    """Raised by a `before_send` hook: these signed bytes are already another request's stored transaction.

    Signing is deterministic, so after the node lost a transaction (a reorg, a restart that lost blocks) the same
    call from the same account with the same nonce and fees signs to the same bytes and hash. One transaction
    serves one request: the queue sends it as the other request's and signs this one with the next nonce."""

    def __init__(self, tx_hash: str, owner: str) -> None:
        self.tx_hash = tx_hash
        self.owner = owner
        super().__init__(f"transaction {tx_hash} belongs to another request ({owner})")


class TransactionTimeoutError(TransactionError):
    """No version of a transaction was mined in time; it may still mine later (wait again with its hashes)."""

    def __init__(self, sender: str, nonce: int, tx_hashes: tuple[str, ...], timeout: float) -> None:
        self.sender = sender
        self.nonce = nonce
        self.tx_hashes = tx_hashes
        self.timeout = timeout
        super().__init__(
            f"transaction from {sender} with nonce {nonce} was not mined within {timeout:.0f}s "
            f"(versions sent: {', '.join(tx_hashes)})"
        )


class ChainStalledError(ScfError):
    """The chain makes no blocks: on Clique, half of the signers or more are down (more than half must sign)."""

    def __init__(self, number: int, block_hash: str, age: float, limit: float) -> None:
        self.number = number
        self.block_hash = block_hash
        self.age = age
        super().__init__(
            f"no new block for {age:.0f}s (limit {limit:.0f}s): the head is block {number} ({block_hash}). "
            "The chain is stalled, most likely because half of the validators or more are down; a transaction "
            "already sent stays stored and is resumed by a retry with the same Idempotency-Key"
        )


class NonceConsumedError(TransactionError):
    """Another transaction took this transaction's nonce, so it can never be mined; submitting anew is safe."""

    def __init__(self, sender: str, nonce: int, tx_hashes: tuple[str, ...]) -> None:
        self.sender = sender
        self.nonce = nonce
        self.tx_hashes = tx_hashes
        super().__init__(
            f"nonce {nonce} of {sender} was used by a different transaction; "
            f"none of {', '.join(tx_hashes)} was or will be mined"
        )


# How nodes say they no longer keep a past block's state (the block itself is still known):
# anvil "BlockOutOfRangeError: block height is H but requested was N" (N < H), geth "missing trie node" /
# "historical state ... is not available", Besu "World state unavailable".
_STATE_GONE = ("missing trie node", "historical state", "world state unavailable", "state is not available")
_ANVIL_RANGE = re.compile(r"BlockOutOfRangeError: block height is (\d+) but requested was (\d+)")


def is_historical_state_missing(message: str) -> bool:
    """True when a node's error message says the state of a past block is no longer kept."""
    found = _ANVIL_RANGE.search(message)
    if found is not None:
        return int(found.group(2)) < int(found.group(1))  # a block past the head is another error
    lowered = message.lower()
    return any(marker in lowered for marker in _STATE_GONE)


class HistoricalStateUnavailableError(ScfError):
    """The node knows the block but no longer keeps its state, so nothing can be read *at* it.

    Not an outage (retrying does not help) and not a missing object: anvil keeps the state of its recent
    blocks only (`SCF_STATE_HISTORY` on the devchain), and a pruned full node keeps about the last 128."""

    def __init__(self, block: int | None, node_message: str) -> None:
        self.block = block
        self.node_message = node_message
        at = f"block {block}" if block is not None else "that block"
        super().__init__(f"the node no longer keeps the state of {at} ({node_message})")
