"""The write client of a running ledger: JSON-RPC, signing queue, typed contract calls, reverts, keys, proofs."""
