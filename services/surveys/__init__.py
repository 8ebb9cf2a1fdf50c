"""Surveys ingestion service: survey responses in, `voc.raw.survey.v1` out."""
