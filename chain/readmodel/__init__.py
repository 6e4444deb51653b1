"""The SQL read model: event log and projections indexed from the chain, and the regulator's alert rules over it."""
