"""Item pipelines: extraction (trafilatura + Chinese rules), then the version store."""
