"""ACLs: canned expansions, grant headers, AccessControlPolicy bodies and their errors,
read-back exactly as set, which actions each permission allows, publicness."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.authz import (
    AccessControlList,
    AuthzError,
    CanonicalUser,
    EmailGrantee,
    Grant,
    Group,
    Permission,
    PrincipalFacts,
    Target,
    acl_from_request,
    canned_acl,
    parse_acl_xml,
    parse_grant_headers,
    render_acl_xml,
)
from gateway.authz.acl import PERMISSION_ACTIONS, allowed_actions
from gateway.authz.acl_documents import MAX_GRANTS, XSI
from gateway.authz.actions import ACTIONS, ResourceKind
from tests.gateway.authz.builders import ANONYMOUS, OTHER, OWNER, THIRD, account, canonical

ME = canonical(OWNER, "owner")
YOU = canonical(OTHER, "other")
FC, R, W = Permission.FULL_CONTROL, Permission.READ, Permission.WRITE
ALL, AUTH, LOG = Group.ALL_USERS, Group.AUTHENTICATED_USERS, Group.LOG_DELIVERY

# --- canned ACLs ---------------------------------------------------------------------------

CANNED: list[tuple[str, Target, CanonicalUser | None, list[Grant]]] = [
    ("private", Target.BUCKET, None, [Grant(ME, FC)]),
    ("public-read", Target.BUCKET, None, [Grant(ME, FC), Grant(ALL, R)]),
    ("public-read-write", Target.OBJECT, None, [Grant(ME, FC), Grant(ALL, R), Grant(ALL, W)]),
    ("authenticated-read", Target.OBJECT, None, [Grant(ME, FC), Grant(AUTH, R)]),
    ("aws-exec-read", Target.OBJECT, None, [Grant(ME, FC)]),
    ("bucket-owner-read", Target.OBJECT, YOU, [Grant(ME, FC), Grant(YOU, R)]),
    ("bucket-owner-read", Target.OBJECT, ME, [Grant(ME, FC)]),
    ("bucket-owner-read", Target.BUCKET, YOU, [Grant(ME, FC)]),
    ("bucket-owner-full-control", Target.OBJECT, YOU, [Grant(ME, FC), Grant(YOU, FC)]),
    ("bucket-owner-full-control", Target.OBJECT, ME, [Grant(ME, FC)]),
    (
        "log-delivery-write",
        Target.BUCKET,
        None,
        [Grant(ME, FC), Grant(LOG, W), Grant(LOG, Permission.READ_ACP)],
    ),
]


@pytest.mark.parametrize(
    ("name", "target", "bucket_owner", "grants"),
    CANNED,
    ids=[f"{c[0]}-{c[1].value}-{c[2] is YOU}" for c in CANNED],
)
def test_canned_acl_expands_to_grants(
    name: str, target: Target, bucket_owner: CanonicalUser | None, grants: list[Grant]
) -> None:
    acl = canned_acl(name, owner=ME, bucket_owner=bucket_owner, target=target)
    assert acl.owner == ME
    assert list(acl.grants) == grants


def test_unknown_canned_acl_is_invalid_argument() -> None:
    with pytest.raises(AuthzError) as info:
        canned_acl("public", owner=ME)
    assert info.value.code == "InvalidArgument"


@pytest.mark.parametrize(
    ("name", "public"),
    [
        ("private", False),
        ("public-read", True),
        ("public-read-write", True),
        ("authenticated-read", True),
        ("log-delivery-write", False),
        ("bucket-owner-full-control", False),
    ],
)
def test_canned_acl_publicness(name: str, public: bool) -> None:
    assert canned_acl(name, owner=ME, bucket_owner=YOU).is_public is public


# --- grant headers ------------------------------------------------------------------------

HEADERS: list[tuple[dict[str, str], list[Grant]]] = [
    (
        {"x-amz-grant-read": f'id="{OTHER.canonical_id}"'},
        [Grant(CanonicalUser(OTHER.canonical_id), R)],
    ),
    (
        {"x-amz-grant-read": f"id={OTHER.canonical_id.upper()}"},
        [Grant(CanonicalUser(OTHER.canonical_id), R)],
    ),
    (
        {"x-amz-grant-read": f'uri="{ALL.value}", id="{THIRD.canonical_id}"'},
        [Grant(ALL, R), Grant(CanonicalUser(THIRD.canonical_id), R)],
    ),
    ({"x-amz-grant-write": f'uri="{LOG.value}"'}, [Grant(LOG, W)]),
    (
        {"x-amz-grant-full-control": 'emailAddress="x@example.com"'},
        [Grant(EmailGrantee("x@example.com"), FC)],
    ),
    (
        {"x-amz-grant-read-acp": f'ID="{OTHER.canonical_id}"'},
        [Grant(CanonicalUser(OTHER.canonical_id), Permission.READ_ACP)],
    ),
    (
        {
            "x-amz-grant-write-acp": f'id="{OTHER.canonical_id}"',
            "x-amz-grant-read": f'uri="{AUTH.value}"',
        },
        [Grant(AUTH, R), Grant(CanonicalUser(OTHER.canonical_id), Permission.WRITE_ACP)],
    ),
]


@pytest.mark.parametrize(("headers", "grants"), HEADERS)
def test_grant_headers(headers: dict[str, str], grants: list[Grant]) -> None:
    assert parse_grant_headers(headers) == grants


@pytest.mark.parametrize(
    "value",
    [
        'id="abc"',
        'uri="http://acs.amazonaws.com/groups/global/Everyone"',
        'name="x"',
        "garbage",
        "",
        'id="',
        'emailAddress="nobody"',
        f'id="{OTHER.canonical_id}",,',
    ],
)
def test_bad_grant_header_is_invalid_argument(value: str) -> None:
    with pytest.raises(AuthzError) as info:
        parse_grant_headers({"x-amz-grant-read": value})
    assert info.value.code == "InvalidArgument"


def test_too_many_header_grants() -> None:
    value = ", ".join(f'id="{i:064x}"' for i in range(MAX_GRANTS + 1))
    with pytest.raises(AuthzError) as info:
        parse_grant_headers({"x-amz-grant-read": value})
    assert info.value.code == "InvalidArgument"


# --- AccessControlPolicy bodies -----------------------------------------------------------


def body(owner_id: str, *grants: str) -> bytes:
    inner = "".join(grants)
    return (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{owner_id}</ID></Owner><AccessControlList>{inner}</AccessControlList>"
        "</AccessControlPolicy>"
    ).encode()


def grant(grantee: str, permission: str, kind: str) -> str:
    return (
        f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="{kind}">{grantee}</Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


def test_xml_body_parses_every_grantee_kind() -> None:
    acl = parse_acl_xml(
        body(
            OWNER.canonical_id,
            grant(
                f"<ID>{OTHER.canonical_id}</ID><DisplayName>o</DisplayName>",
                "READ",
                "CanonicalUser",
            ),
            grant(f"<URI>{ALL.value}</URI>", "READ_ACP", "Group"),
            grant("<EmailAddress>a@example.com</EmailAddress>", "WRITE", "AmazonCustomerByEmail"),
        ),
        owner=ME,
    )
    assert acl.owner == ME
    assert acl.grants == (
        Grant(CanonicalUser(OTHER.canonical_id, "o"), R),
        Grant(ALL, Permission.READ_ACP),
        Grant(EmailGrantee("a@example.com"), W),
    )


MALFORMED_BODIES: list[tuple[str, bytes, str]] = [
    ("not XML", b"<AccessControlPolicy>", "MalformedACLError"),
    ("empty", b"  ", "MalformedACLError"),
    ("wrong root", b"<Foo/>", "MalformedACLError"),
    (
        "no owner",
        b"<AccessControlPolicy><AccessControlList/></AccessControlPolicy>",
        "MalformedACLError",
    ),
    (
        "no list",
        f"<AccessControlPolicy><Owner><ID>{OWNER.canonical_id}</ID></Owner></AccessControlPolicy>".encode(),
        "MalformedACLError",
    ),
    ("another owner", body(OTHER.canonical_id), "AccessDenied"),
    (
        "unknown permission",
        body(OWNER.canonical_id, grant(f"<URI>{ALL.value}</URI>", "EVERYTHING", "Group")),
        "MalformedACLError",
    ),
    (
        "no grantee type",
        body(
            OWNER.canonical_id,
            f"<Grant><Grantee><ID>{OTHER.canonical_id}</ID></Grantee><Permission>READ</Permission></Grant>",
        ),
        "MalformedACLError",
    ),
    (
        "canonical user without id",
        body(OWNER.canonical_id, grant("", "READ", "CanonicalUser")),
        "MalformedACLError",
    ),
    (
        "bad canonical id",
        body(OWNER.canonical_id, grant("<ID>xyz</ID>", "READ", "CanonicalUser")),
        "InvalidArgument",
    ),
    (
        "unknown group",
        body(OWNER.canonical_id, grant("<URI>http://example.com/all</URI>", "READ", "Group")),
        "InvalidArgument",
    ),
    (
        "no permission",
        body(
            OWNER.canonical_id,
            f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="Group"><URI>{ALL.value}</URI></Grantee>'
            "</Grant>",
        ),
        "MalformedACLError",
    ),
    (
        "entity",
        b'<!DOCTYPE x [<!ENTITY e "x">]><AccessControlPolicy>&e;</AccessControlPolicy>',
        "MalformedACLError",
    ),
    (
        "too many grants",
        body(
            OWNER.canonical_id,
            *[grant(f"<URI>{ALL.value}</URI>", "READ", "Group")] * (MAX_GRANTS + 1),
        ),
        "MalformedACLError",
    ),
]


@pytest.mark.parametrize(
    ("name", "document", "code"), MALFORMED_BODIES, ids=[m[0] for m in MALFORMED_BODIES]
)
def test_bad_acl_body(name: str, document: bytes, code: str) -> None:
    with pytest.raises(AuthzError) as info:
        parse_acl_xml(document, owner=ME)
    assert info.value.code == code


# --- one request, one ACL -----------------------------------------------------------------


def test_request_with_a_canned_acl() -> None:
    acl = acl_from_request({"x-amz-acl": "public-read"}, None, owner=ME, target=Target.BUCKET)
    assert acl is not None and acl.is_public


def test_request_with_grant_headers_has_only_those_grants() -> None:
    acl = acl_from_request(
        {"x-amz-grant-read": f'uri="{AUTH.value}"'}, None, owner=ME, target=Target.OBJECT
    )
    assert acl == AccessControlList(ME, (Grant(AUTH, R),))


def test_request_with_a_body() -> None:
    acl = acl_from_request({}, body(OWNER.canonical_id), owner=ME, target=Target.OBJECT)
    assert acl == AccessControlList(ME, ())


def test_request_without_an_acl() -> None:
    assert acl_from_request({"x-amz-meta-a": "b"}, b"", owner=ME, target=Target.OBJECT) is None


@pytest.mark.parametrize(
    ("headers", "document", "code"),
    [
        (
            {"x-amz-acl": "private", "x-amz-grant-read": f'uri="{ALL.value}"'},
            None,
            "InvalidRequest",
        ),
        ({"x-amz-acl": "private"}, body(OWNER.canonical_id), "UnexpectedContent"),
        ({"x-amz-grant-read": f'uri="{ALL.value}"'}, body(OWNER.canonical_id), "UnexpectedContent"),
        ({"x-amz-acl": "world-readable"}, None, "InvalidArgument"),
    ],
)
def test_conflicting_acl_inputs(headers: dict[str, str], document: bytes | None, code: str) -> None:
    with pytest.raises(AuthzError) as info:
        acl_from_request(headers, document, owner=ME, target=Target.OBJECT)
    assert info.value.code == code


# --- resolving grantees -------------------------------------------------------------------


def test_resolve_turns_emails_into_canonical_users_and_names_ids() -> None:
    acl = AccessControlList(
        CanonicalUser(OWNER.canonical_id),
        (
            Grant(EmailGrantee("Other@Example.com"), R),
            Grant(CanonicalUser(THIRD.canonical_id), FC),
            Grant(ALL, R),
        ),
    )
    third = canonical(THIRD, "third")
    resolved = acl.resolve(
        by_email={"other@example.com": YOU},
        by_id={THIRD.canonical_id: third, OWNER.canonical_id: ME},
    )
    assert resolved == AccessControlList(ME, (Grant(YOU, R), Grant(third, FC), Grant(ALL, R)))
    assert acl.emails() == ("Other@Example.com",)
    assert acl.canonical_ids() == (THIRD.canonical_id,)


def test_unknown_email_is_unresolvable() -> None:
    acl = AccessControlList(ME, (Grant(EmailGrantee("nobody@example.com"), R),))
    with pytest.raises(AuthzError) as info:
        acl.resolve(by_email={}, by_id={})
    assert info.value.code == "UnresolvableGrantByEmailAddress"


def test_unknown_canonical_id_is_invalid_argument() -> None:
    acl = AccessControlList(ME, (Grant(CanonicalUser(THIRD.canonical_id), R),))
    with pytest.raises(AuthzError) as info:
        acl.resolve(by_email={}, by_id={})
    assert info.value.code == "InvalidArgument"


# --- reading back -------------------------------------------------------------------------


def test_render_is_the_acl_as_set() -> None:
    acl = AccessControlList(ME, (Grant(YOU, R), Grant(ALL, Permission.READ_ACP), Grant(ME, FC)))
    document = render_acl_xml(acl)
    root = etree.fromstring(document)
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert root.findtext("s3:Owner/s3:ID", namespaces=ns) == OWNER.canonical_id
    assert root.findtext("s3:Owner/s3:DisplayName", namespaces=ns) == "owner"
    grants = root.findall("s3:AccessControlList/s3:Grant", namespaces=ns)
    kinds = [g.find("s3:Grantee", namespaces=ns).get(f"{{{XSI}}}type") for g in grants]
    assert kinds == ["CanonicalUser", "Group", "CanonicalUser"]
    assert [g.findtext("s3:Permission", namespaces=ns) for g in grants] == [
        "READ",
        "READ_ACP",
        "FULL_CONTROL",
    ]
    assert grants[1].findtext("s3:Grantee/s3:URI", namespaces=ns) == ALL.value
    assert parse_acl_xml(document, owner=ME) == acl


def test_render_of_an_empty_grant_list() -> None:
    acl = AccessControlList(ME, ())
    assert parse_acl_xml(render_acl_xml(acl), owner=ME) == acl


# --- what each permission allows ----------------------------------------------------------

MAPPING: list[tuple[Target, Permission, set[str]]] = [
    (Target.BUCKET, R, {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"}),
    (Target.BUCKET, W, {"s3:PutObject", "s3:DeleteObject"}),
    (Target.BUCKET, Permission.READ_ACP, {"s3:GetBucketAcl"}),
    (Target.BUCKET, Permission.WRITE_ACP, {"s3:PutBucketAcl"}),
    (
        Target.OBJECT,
        R,
        {
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:GetObjectTorrent",
            "s3:GetObjectAttributes",
            "s3:GetObjectVersionAttributes",
        },
    ),
    (Target.OBJECT, W, set()),
    (Target.OBJECT, Permission.READ_ACP, {"s3:GetObjectAcl", "s3:GetObjectVersionAcl"}),
    (Target.OBJECT, Permission.WRITE_ACP, {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"}),
]


@pytest.mark.parametrize(("target", "permission", "actions"), MAPPING)
def test_permission_to_actions(target: Target, permission: Permission, actions: set[str]) -> None:
    assert allowed_actions(target, permission) == actions


@pytest.mark.parametrize("target", list(Target))
def test_full_control_is_every_other_permission(target: Target) -> None:
    others = [allowed_actions(target, p) for p in Permission if p is not FC]
    assert allowed_actions(target, FC) == frozenset().union(*others)


def test_mapped_actions_are_known_and_fit_their_target() -> None:
    for target, table in PERMISSION_ACTIONS.items():
        for actions in table.values():
            for action in actions:
                kind = ACTIONS[action]
                bucket_level = kind is ResourceKind.BUCKET
                assert bucket_level == (target is Target.BUCKET) or action in {
                    "s3:PutObject",
                    "s3:DeleteObject",
                }


@pytest.mark.parametrize(
    ("grantee", "caller", "named"),
    [
        (YOU, account(OTHER), True),
        (YOU, account(THIRD), False),
        (YOU, ANONYMOUS, False),
        (ALL, ANONYMOUS, True),
        (AUTH, ANONYMOUS, False),
        (AUTH, account(THIRD), True),
        (LOG, account(THIRD), False),
        (EmailGrantee("x@example.com"), account(OTHER), False),
    ],
)
def test_grantee_names_caller(
    grantee: CanonicalUser | Group | EmailGrantee, caller: PrincipalFacts, named: bool
) -> None:
    assert Grant(grantee, R).names(caller) is named
