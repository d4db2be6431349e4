"""Spiders: one per source in sources.yaml, made by crawler.loader from spiders.source."""
