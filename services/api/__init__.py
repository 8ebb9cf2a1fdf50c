"""Read-only BI API: per-touchpoint scores, the touchpoint catalog and verbatims."""
