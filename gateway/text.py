"""Character classes of the text the gateway takes in and sends back: each rule once.

They differ on purpose, by what the text may hold:

- :func:`is_header_text`: a header value the gateway keeps and answers back later (S3
  system headers and user metadata, the REST upload's ``Content-Type``). Tab, space and
  any Unicode character; no other control character (a CR or LF would split the answer
  that sends it back) and no lone surrogate (aiohttp's ``surrogateescape`` spelling of
  header bytes that are not UTF-8: not text, and not storable).
- :func:`is_sendable_header_value`: a response header value, whatever its source (stored
  data written before values were checked, an upstream's answer). Tab, space and any
  character but the other control characters, which would split the response; a lone
  surrogate is sent as the byte it stands for, as it came.
- :func:`is_url_text`: a URL the gateway sends as ``Location``. No control character and
  no space, tab included: ``urlsplit`` drops a CR, LF or tab silently and takes the rest.
"""

from __future__ import annotations

import re

__all__ = ["is_header_text", "is_sendable_header_value", "is_url_text"]

_NOT_HEADER_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_NOT_SENDABLE_IN_A_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_NOT_IN_A_URL = re.compile("[\x00-\x20\x7f]")


def is_header_text(value: str) -> bool:
    """Whether ``value`` may be kept and sent back as a header value (module docstring)."""
    # printable ASCII (the usual case) needs no regular expression
    return (value.isascii() and value.isprintable()) or _NOT_HEADER_TEXT.search(value) is None


def is_sendable_header_value(value: str) -> bool:
    """Whether ``value`` cannot split a response's headers (module docstring)."""
    return (value.isascii() and value.isprintable()) or (
        _NOT_SENDABLE_IN_A_HEADER.search(value) is None
    )


def is_url_text(value: str) -> bool:
    """Whether ``value`` holds no control character and no space (module docstring)."""
    return _NOT_IN_A_URL.search(value) is None
