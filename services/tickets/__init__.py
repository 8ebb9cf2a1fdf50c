"""Tickets ingestion service: help-desk tickets in, `voc.raw.ticket.v1` out."""
