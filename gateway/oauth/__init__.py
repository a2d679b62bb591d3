"""OAuth 2.0 on the API listener: token, revocation, introspection, JWKS and metadata."""
