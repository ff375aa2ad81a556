"""Tools built on scapy for crafting probes (tests, tables); never on the engine's hot path."""
