"""Everything that talks to the ledger: toolchain, compile, devchain, deploy, client."""
