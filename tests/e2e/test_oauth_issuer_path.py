"""RFC 8414 3: the metadata of an issuer with a path is at the well-known suffix followed
by that path. The gateway served it only at the suffix, so a client of
``https://gw.example.test/tenant-a`` (behind a proxy that strips ``/tenant-a``) found
no metadata where the RFC says to look."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import jwt
import pytest

from gateway.oauth.routes import issuer_metadata_path
from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway, get_json
from tests.e2e.oauth_util import call, make_setup

ISSUER = "https://gw.example.test/tenant-a"
SUFFIX = "/.well-known/oauth-authorization-server"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory, "oauth-issuer-path", extra_env={"NFYIO_ISSUER": ISSUER}
    )


def test_the_metadata_is_served_after_the_suffix_at_the_issuers_path(gateway: Gateway) -> None:
    status, metadata = get_json(f"{gateway.api_url}{SUFFIX}/tenant-a")
    assert status == 200, metadata
    assert metadata["issuer"] == ISSUER
    assert metadata["token_endpoint"] == f"{ISSUER}/oauth/token"
    # and its issuer is every token's iss
    setup = make_setup(gateway, grant_types=["client_credentials"])
    reply = call(
        f"{gateway.api_url}/oauth/token",
        "POST",
        form={"grant_type": "client_credentials", **setup.creds()},
    )
    assert reply.status == 200, reply.body
    claims = jwt.decode(reply.json()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == metadata["issuer"]


def test_another_path_after_the_suffix_is_not_found(gateway: Gateway) -> None:
    try:
        urllib.request.urlopen(f"{gateway.api_url}{SUFFIX}/tenant-b", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 404
        assert json.loads(exc.read())["error"]["code"] == "NotFound"
    else:
        raise AssertionError("the metadata of another issuer path was served")


def test_the_api_description_names_the_path(gateway: Gateway) -> None:
    status, document = get_json(f"{gateway.api_url}/v1/openapi.json")
    assert status == 200
    assert f"{SUFFIX}/tenant-a" in document["paths"]
    assert SUFFIX in document["paths"]


@pytest.mark.parametrize(
    ("issuer", "path"),
    [
        ("https://gw.example", None),
        ("https://gw.example/", None),
        ("https://gw.example/a/b/", f"{SUFFIX}/a/b"),
        ("https://gw.example/%7Bx%7D", None),  # the router matches decoded paths
        ("https://gw.example/{x}", None),  # a route variable
        ("https://gw.example/a//b", None),
    ],
)
def test_which_issuer_paths_get_a_route(issuer: str, path: str | None) -> None:
    assert issuer_metadata_path(issuer) == path
