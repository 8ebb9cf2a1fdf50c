"""Social ingestion service: social media posts in, `voc.raw.social.v1` out."""
