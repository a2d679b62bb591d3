"""Authentication failures, independent of the listener that reports them."""

from __future__ import annotations

from typing import Literal

AuthCode = Literal[
    "InvalidAccessKeyId", "InvalidToken", "UnsupportedAuthorization", "AmbiguousCredential"
]
"""Why a credential was refused. Each listener's error table says how it answers:
the S3 listener in ``gateway/s3/errors.py``, the REST API in ``gateway/api/errors.py``."""


class AuthError(Exception):
    """A credential was presented and refused.

    - ``InvalidAccessKeyId``: an API key secret that is unknown, revoked or expired;
    - ``InvalidToken``: a JWT that does not verify or whose grant is gone;
    - ``UnsupportedAuthorization``: an ``Authorization`` header that is neither SigV4 nor
      ``Bearer <token>``;
    - ``AmbiguousCredential``: ``Authorization`` or ``X-API-Key`` given twice: the
      request would stand for whichever copy a reader took (RFC 6750 3.1
      ``invalid_request``).
    """

    def __init__(self, code: AuthCode, message: str) -> None:
        super().__init__(message)
        self.code: AuthCode = code
        self.message = message
