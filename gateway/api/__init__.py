"""The API listener: /v1 REST, /oauth, /.well-known, /health, /ready."""
