"""Authentication failures, independent of the listener that reports them."""

from __future__ import annotations


class AuthError(Exception):
    """A credential was presented and refused.

    ``s3_code`` is what the S3 listener answers; ``api_code`` what the REST API answers.
    """

    def __init__(self, s3_code: str, api_code: str, message: str) -> None:
        super().__init__(message)
        self.s3_code = s3_code
        self.api_code = api_code
        self.message = message
