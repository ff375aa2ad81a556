"""Scoring: uTNT's tunnels against the lab's ground truth, by router identity."""
from .score import CLASS_MAP, score_run, score_trace

__all__ = ["CLASS_MAP", "score_run", "score_trace"]
