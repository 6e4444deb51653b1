"""Person-readable strings of the operator-facing CLI paths (proof checks, relative dates, the demo's sign-in
list), kept in one place so that the CLI's message catalogue (zh-CN / en) can take them over as they are.

Each is a `str.format` template; the names in braces are the only values filled in.
"""

from __future__ import annotations

# scf verify-proof / scf verify proof: the node the proof is checked against did not answer
NODE_UNREACHABLE = "node unreachable at {url} ({reason}); nothing was checked: pass --rpc with a node you can reach"
PROOF_REJECTED = "proof rejected: {reason}"

# dates of `--due`, `--maturity`, `--expires` ... (scripts/commands/common.py, chain_date)
DATE_GRAMMAR = "YYYY-MM-DD, today, tomorrow, +Nd or +Nw (days or weeks after the chain's today)"
DATE_INVALID = "{option} {value!r} is not a date: use {grammar}"

# scf demo: how to sign in to the web console as each party
DEMO_SIGN_IN_TITLE = "Sign in to the web console as each party"
DEMO_SIGN_IN_HINT = (
    "open {console} in a browser and paste a key (shown once; issue another with `scf members issue-key ID`)"
)
