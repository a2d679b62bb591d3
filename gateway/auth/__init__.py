"""Authentication shared by both listeners: reading a request's Bearer / ``X-API-Key``
credential and resolving it to a :class:`gateway.principal.Principal`.

The vocabulary of who may do what (``gateway.principal``, ``gateway.scopes``) lives
outside this package, so ``gateway.identity`` can use it without importing ``gateway.auth``.
"""
