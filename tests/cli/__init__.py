"""Tests of the `scf` command line over the HTTP API."""
