"""Experiments: what a researcher runs against labs and reads back. One run of a detector on a
lab, scored (run, report); the scoreboard (board); calibration sweeps (sweep); the generated
evaluation matrix (matrix); campaigns over many vantage points (campaign); failures during a run
(failure); on-demand probing and parallel instances (ondemand, ondemand_runtimes, parallel);
where cells run (pool); pictures (graph, layout, html, charts); scoring saved files (score_files)."""
