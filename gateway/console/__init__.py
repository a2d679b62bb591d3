"""The web console: static pages served by the API listener, and its session endpoint."""
