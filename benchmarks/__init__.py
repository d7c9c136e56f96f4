"""Side-by-side comparisons against the baselines a user would otherwise pick.

Each ``benchmarks/bench_*.py`` module defines ``run(quick: bool = False) -> list[dict]``;
every row has at least ``name``, ``ours_s``, ``baseline``, ``baseline_s`` and ``ratio``
(baseline time / our time, measured in the same run), plus method-specific
columns (errors, objective values, ...).  No test fails on a timing.
"""
