"""Question -> ranked evidence (triples or passages). Never writes answer text."""
