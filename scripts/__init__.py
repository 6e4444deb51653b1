"""The `scf` command-line tool."""
