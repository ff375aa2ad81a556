"""Defaults the export command line shows (kept apart so that building the CLI's parser does
not import the exporters and the lab model behind them)."""
DEFAULT_IMAGE = "quay.io/frrouting/frr:8.4.4"
DEFAULT_HOST_IMAGE = "ghcr.io/srl-labs/network-multitool"
LAN_MODES = ("switch", "bridge")
