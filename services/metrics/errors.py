"""Errors of the metrics writer."""

from __future__ import annotations

from shared.errors import DatabaseUnavailable


class ConcurrentFactWrite(DatabaseUnavailable):
    """Another writer inserted a fact this batch took for new; the batch is retried.

    Only happens while two replicas briefly own one partition (a rebalance): the retry sees the
    other writer's row, locks it and computes its difference against it.
    """

    code = "concurrent_fact_write"
