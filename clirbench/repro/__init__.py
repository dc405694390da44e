"""Pinned expected scores (a reproduction matrix) and the check that reruns them."""
