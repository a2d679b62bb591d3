"""A storage backend's refusal on /v1: its own row, else its S3 status family, else a 500."""

from __future__ import annotations

import pytest

from backends.errors import BackendError
from gateway.api.backend_errors import BACKEND_ERRORS, raise_backend
from gateway.api.errors import ApiError
from gateway.s3.errors import ERRORS


@pytest.mark.parametrize(
    ("code", "status", "rest_code"),
    [
        ("NoSuchKey", 404, "NotFound"),  # a row of its own
        ("KeyTooLongError", 400, "InvalidRequest"),  # SeaweedFS's answer to a long key
        ("AccessDenied", 403, "AccessDenied"),  # an object under retention
        ("InvalidBucketState", 409, "Conflict"),
        ("PreconditionFailed", 409, "Conflict"),
        ("MethodNotAllowed", 409, "Conflict"),
        ("InvalidRange", 400, "InvalidRequest"),
    ],
)
def test_refusals_reach_the_client_as_4xx(code: str, status: int, rest_code: str) -> None:
    with pytest.raises(ApiError) as raised:
        raise_backend(BackendError(code, "the store says no"), {"bucket": "b"})
    assert (raised.value.status, raised.value.code) == (status, rest_code)
    if code not in BACKEND_ERRORS:
        assert raised.value.details == {"bucket": "b", "backend_code": code}
        assert raised.value.message.endswith("the store says no")


@pytest.mark.parametrize("code", ["InternalError", "SomethingNobodyKnows"])
def test_what_is_not_the_client_s_stays_a_500(code: str) -> None:
    with pytest.raises(BackendError):
        raise_backend(BackendError(code), {})


def test_every_client_refusal_of_s3_has_a_rest_answer() -> None:
    """Every code S3 answers with a 4xx maps to a REST error, so no store refusal of
    something a client sent becomes a 500 on /v1 (a new row in the S3 table with a new
    4xx status fails here until it has one)."""
    unanswered = []
    for code, spec in ERRORS.items():
        if not 400 <= spec.status < 500:
            continue
        try:
            raise_backend(BackendError(code), {})
        except ApiError:
            continue
        except BackendError:
            unanswered.append(code)
    assert unanswered == []
