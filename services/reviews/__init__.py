"""Reviews ingestion service: product and store reviews in, `voc.raw.review.v1` out."""
