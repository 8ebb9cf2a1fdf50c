"""NLP core of the classifier: encoder, heads, language, redaction, pipeline."""
