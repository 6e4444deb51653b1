"""What only tools and tests start: toolchain, compile, local devchain and its pacer, deploy, geth/Besu networks."""
