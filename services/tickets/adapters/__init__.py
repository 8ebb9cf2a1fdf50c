"""Help-desk vendors' webhook adapters, one module each (see `shared.ingest.webhooks`)."""
