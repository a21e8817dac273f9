"""The Work connector: typed records and an HTTP client for the Work API v1 (docs/work-api.md)."""
