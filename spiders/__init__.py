"""Spiders: one per source in sources.yaml, made by spiders.loader from spiders.source."""
