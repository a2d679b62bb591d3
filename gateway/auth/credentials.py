"""The one parser of ``Authorization: Bearer`` and ``X-API-Key`` credentials.

Both listeners call :func:`bearer_token`; SigV4 (header or presigned) is recognised
before it on the S3 listener, by ``sigv4``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from gateway.auth.errors import AuthError

__all__ = ["ambiguous", "bearer_token", "given", "repeated"]


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The bearer credential of a request, or None when it presents none.

    ``headers`` must look names up case-insensitively (aiohttp's ``CIMultiDict``) or hold
    lower-case names. ``Authorization`` wins over ``X-API-Key`` (a fixed order, whatever
    order the headers come in: a proxy in front may want an ``x-api-key`` of its own).
    Either credential header given twice is refused (``headers`` a multidict; a plain
    mapping holds one value per name, so its caller passes one only when no header
    repeats): which copy a reader took would decide who the request is. An
    ``Authorization`` header that is not ``Bearer <token>`` is refused rather than
    ignored, so a client never falls back to anonymous access by mistake. An empty
    ``X-API-Key`` is no credential.
    """
    getall = getattr(headers, "getall", None)
    authorization = _given(headers, getall, "authorization")
    api_key = _given(headers, getall, "x-api-key")
    if (
        getall is not None
        and (authorization is not None or api_key is not None)
        and (
            repeated(getall("authorization", ()))  # (any scheme, as the S3 listener)
            or repeated(getall("x-api-key", ()))
        )
    ):
        raise ambiguous()
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        token = value.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError(
                "UnsupportedAuthorization",
                "Unsupported Authorization type; use AWS Signature Version 4, "
                "'Authorization: Bearer <token>' or 'X-API-Key: <key>'",
            )
        return _text(token)
    if api_key is None or not api_key.strip():
        return None
    return _text(api_key.strip())


def _given(
    headers: Mapping[str, str], getall: Callable[..., list[str]] | None, name: str
) -> str | None:
    return headers.get(name) if getall is None else given(getall(name, ()))


def given(values: Sequence[str]) -> str | None:
    """The copy read of one credential header's ``values``: the first that is not blank
    (a blank copy is no credential: ``repeated`` does not count it, so the one given is
    the one read), else the first; None when the header is absent."""
    for value in values:
        if value.strip():
            return value
    return values[0] if values else None


def repeated(values: Sequence[str]) -> bool:
    """More than one of ``values`` (one credential header's values) is non-empty."""
    non_blank = 0
    for value in values:
        if value.strip():
            non_blank += 1
    return non_blank > 1


def ambiguous() -> AuthError:
    return AuthError(
        "AmbiguousCredential",
        "A credential header (Authorization, X-API-Key) may be given only once",
    )


def _text(token: str) -> str:
    """A credential that is text: aiohttp hands header bytes that are not UTF-8 over as
    lone surrogates, which no key or token contains (and which fail when hashed)."""
    if not token.isascii():
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            raise AuthError("InvalidAccessKeyId", "The credential is not valid UTF-8") from None
    return token
