"""Envelopes waiting for their fetch step, on `voc.fetch.pending.v1`.

A fetch-step vendor's webhook is acknowledged once its envelope is on this topic; the fetch
worker of the same service consumes it, fetches the details and publishes the items. Keyed by
the item's future feedback_id, so notifications about one item are fetched in order.
"""

from __future__ import annotations

from shared.events import FetchPendingEvent, PendingFetch

__all__ = ["FetchPendingEvent", "PendingFetch"]
