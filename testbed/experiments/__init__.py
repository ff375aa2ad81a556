"""Experiments: run uTNT on a lab and score it (run), the scoreboard, sweeps."""
