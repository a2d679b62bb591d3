"""The one S3 error table covers every code the gateway, sigv4 and the backends raise."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

import sigv4.errors
from backends.errors import BackendError
from gateway.s3.errors import ERRORS, S3Error, as_s3_error
from sigv4 import SigV4Error

ROOT = Path(__file__).resolve().parents[3]
RAISERS = {"S3Error", "BackendError"}


def _sigv4_codes() -> set[str]:
    return {
        cls.code
        for _, cls in inspect.getmembers(sigv4.errors, inspect.isclass)
        if issubclass(cls, SigV4Error)
    }


def _literal_codes(package: str) -> Iterator[tuple[str, str]]:
    """(file:line, code) of every ``S3Error("Code", ...)`` / ``BackendError("Code", ...)``.
    sigv4 raises classes, checked by ``test_every_sigv4_error_class_is_in_the_table``."""
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            if name in RAISERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", first.value


@pytest.mark.parametrize("package", ["gateway", "backends"])
def test_every_raised_code_is_in_the_table(package: str) -> None:
    found = list(_literal_codes(package))
    assert found, "the scan found no raise sites: it is looking in the wrong place"
    missing = [f"{where}: {code}" for where, code in found if code not in ERRORS]
    assert not missing, "codes missing from gateway/s3/errors.py ERRORS:\n" + "\n".join(missing)


def test_every_sigv4_error_class_is_in_the_table() -> None:
    codes = _sigv4_codes()
    assert "SignatureDoesNotMatch" in codes
    assert sorted(codes - ERRORS.keys()) == []


def test_upstream_pass_through_codes_are_in_the_table() -> None:
    from backends.s3 import upstream_errors as upstream

    codes = set(upstream._PASS_THROUGH) | set(upstream._RENAMED.values())
    assert sorted(codes - ERRORS.keys()) == []


def test_statuses_are_http_error_statuses() -> None:
    for code, spec in ERRORS.items():
        assert spec.status == 304 or 400 <= spec.status <= 599, code


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        S3Error("NoSuchThingAtAll")


def test_conversion_keeps_code_message_and_extra() -> None:
    backend = as_s3_error(BackendError("InvalidRange", "nope", extra={"ActualObjectSize": "7"}))
    assert backend is not None
    assert (backend.code, backend.message, backend.status) == ("InvalidRange", "nope", 416)
    assert backend.headers() == {"Content-Range": "bytes */7"}
    signature = as_s3_error(sigv4.errors.SignatureDoesNotMatch("bad"))
    assert signature is not None and signature.status == 403
    assert as_s3_error(BackendError("SomethingUnheardOf")) is None
    assert as_s3_error(ValueError("boom")) is None


def test_not_modified_has_validators_and_no_body() -> None:
    error = S3Error("NotModified", extra={"ETag": '"abc"', "LastModified": "Tue"})
    assert error.status == 304 and not error.spec.body
    assert error.headers() == {"ETag": '"abc"', "Last-Modified": "Tue"}


def test_every_access_control_code_is_in_the_table_with_its_status() -> None:
    from gateway.authz.errors import CODES, AuthzError

    for code, status in CODES.items():
        assert ERRORS[code].status == status, code
        converted = as_s3_error(AuthzError(code, "why"))
        assert converted is not None and (converted.code, converted.message) == (code, "why")
