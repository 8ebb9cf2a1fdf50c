"""`voc import`: bulk-load a file of feedback through the ingestion services' HTTP endpoints.

A client, not a service: it reads a file (canonical JSONL or CSV, or a vendor API response),
maps rows to canonical request items and POSTs them in batches, so validation and publishing
stay with the ingestion services.
"""
