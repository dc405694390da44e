"""Baseline retrieval methods shipped with clirbench (installed as ``clirbench.baselines``)."""
