"""The errors the access-control model raises: an S3 error code and a message.

The package stays free of the S3 listener (no status, no XML): ``gateway/s3`` maps these
codes to responses. The codes are AWS's, listed in ``CODES`` with their HTTP status so
the S3 error table can take them over when the model is wired in.
"""

from __future__ import annotations

__all__ = ["CODES", "AuthzError"]

CODES: dict[str, int] = {
    "AccessControlListNotSupported": 400,
    "AccessDenied": 403,
    "InvalidArgument": 400,
    "InvalidRequest": 400,
    "MalformedACLError": 400,
    "MalformedPolicy": 400,
    "UnexpectedContent": 400,
    "UnresolvableGrantByEmailAddress": 400,
}


class AuthzError(Exception):
    """A client mistake in a policy, an ACL or an ownership setting (``code`` is AWS's)."""

    def __init__(self, code: str, message: str) -> None:
        if code not in CODES:  # a programming error: tests/gateway/authz pin the codes
            raise KeyError(f"authorization error code {code!r} is not in CODES")
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")

    @property
    def status(self) -> int:
        return CODES[self.code]


def malformed_policy(message: str) -> AuthzError:
    return AuthzError("MalformedPolicy", message)
