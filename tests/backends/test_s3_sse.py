"""The upstream backend's SSE translation (``backends/s3/sse.py``): request parameters in
botocore's names, the echo read back, and the checks that keep a refusal or an ignored
request from turning into plaintext or the wrong error."""

from __future__ import annotations

import base64
import hashlib

from backends import BackendError, ObjectMeta
from backends.s3.sse import (
    copy_source_sse_params,
    customer_only,
    key_refused,
    self_copy_sse_params,
    source_only,
    sse_params,
    unapplied,
    with_sse,
)
from backends.s3.upstream_errors import GATEWAY_REFUSED
from backends.types import CustomerKey, Encryption

KEY = bytes(range(32))
MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
CUSTOMER = CustomerKey(key=KEY, key_md5=MD5)


def test_parameters_carry_the_key_encoded_with_its_md5() -> None:
    assert sse_params(None) == {}
    assert sse_params(Encryption(algorithm="AES256")) == {"ServerSideEncryption": "AES256"}
    expected = {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": base64.b64encode(KEY).decode(),
        "SSECustomerKeyMD5": MD5,
    }
    assert sse_params(Encryption(customer=CUSTOMER)) == expected
    source = copy_source_sse_params(Encryption(copy_source_customer=CUSTOMER))
    assert source == {f"CopySource{k}": v for k, v in expected.items()}
    # a self-copy keeps the object's encryption and opens it with its own key
    both = self_copy_sse_params(Encryption(customer=CUSTOMER))
    assert both == {**expected, **source}


def test_reads_get_only_the_key_they_open_with() -> None:
    request = Encryption(algorithm=None, customer=CUSTOMER, copy_source_customer=None)
    assert customer_only(request) == Encryption(customer=CUSTOMER)
    assert source_only(request) is None
    assert source_only(Encryption(copy_source_customer=CUSTOMER)) == Encryption(customer=CUSTOMER)
    assert customer_only(Encryption(algorithm="AES256")) is None


def test_an_answer_that_does_not_confirm_the_encryption_is_caught() -> None:
    assert unapplied(None, {}) is None
    assert unapplied(Encryption(algorithm="AES256"), {}) == "AES256"
    assert unapplied(Encryption(algorithm="AES256"), {"ServerSideEncryption": "AES256"}) is None
    assert unapplied(Encryption(customer=CUSTOMER), {"ServerSideEncryption": "AES256"}) == "SSE-C"
    assert unapplied(Encryption(customer=CUSTOMER), {"SSECustomerAlgorithm": "AES256"}) is None


def test_the_echo_replaces_whatever_meta_said() -> None:
    meta = ObjectMeta(server_side_encryption="AES256", sse_customer_key_hmac="x")
    echoed = with_sse(meta, {"SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": MD5})
    assert echoed.server_side_encryption is None
    assert (echoed.sse_customer_algorithm, echoed.sse_customer_key_md5) == ("AES256", MD5)
    assert echoed.sse_customer_key_hmac is None


def test_a_403_to_a_keyed_read_is_the_keys_fault_not_ours() -> None:
    refused = BackendError("InternalError", GATEWAY_REFUSED)
    assert key_refused(refused, Encryption(customer=CUSTOMER)).code == "AccessDenied"
    assert key_refused(refused, Encryption(copy_source_customer=CUSTOMER)).code == "AccessDenied"
    assert key_refused(refused, None) is refused
    other = BackendError("InternalError", "something else")
    assert key_refused(other, Encryption(customer=CUSTOMER)) is other
