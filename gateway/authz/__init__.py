"""Access control, as pure functions: bucket policies, ACLs, the public access block,
ownership controls, and the one decision that combines them with the credential's scopes.

No I/O, no aiohttp, no identity store: the S3 dispatcher gathers the facts (who calls,
the bucket's owner, ACLs, policy and settings, the request's condition values, the clock)
and calls :func:`decide` once per request (twice for a copy). See
``docs/access-control.md``.
"""

from gateway.authz.acl import (
    CANNED_ACLS,
    AccessControlList,
    CanonicalUser,
    EmailGrantee,
    Grant,
    Group,
    Permission,
    Target,
    canned_acl,
)
from gateway.authz.acl_documents import (
    acl_from_request,
    parse_acl_xml,
    parse_grant_headers,
    render_acl_xml,
)
from gateway.authz.actions import ACTIONS, ResourceKind, canonical_action, versioned_action
from gateway.authz.context import (
    ANONYMOUS,
    ConditionContext,
    PrincipalFacts,
    PrincipalKind,
    RequestContext,
)
from gateway.authz.decide import (
    ANONYMOUS_INITIATOR,
    AccessRequest,
    Decision,
    Owner,
    Reason,
    decide,
)
from gateway.authz.errors import AuthzError
from gateway.authz.evaluate import PolicyResult, evaluate, needs_existing_tags, resource_arn
from gateway.authz.ownership import ObjectOwnership, check_acl_allowed, object_owner_for_write
from gateway.authz.policy import Effect, Policy, Statement, parse_policy
from gateway.authz.public import is_public
from gateway.authz.public_access import (
    PublicAccessBlock,
    refuse_public_acl,
    refuse_public_policy,
)

__all__ = [
    "ACTIONS",
    "ANONYMOUS",
    "ANONYMOUS_INITIATOR",
    "CANNED_ACLS",
    "AccessControlList",
    "AccessRequest",
    "AuthzError",
    "CanonicalUser",
    "ConditionContext",
    "Decision",
    "Effect",
    "EmailGrantee",
    "Grant",
    "Group",
    "ObjectOwnership",
    "Owner",
    "Permission",
    "Policy",
    "PolicyResult",
    "PrincipalFacts",
    "PrincipalKind",
    "PublicAccessBlock",
    "Reason",
    "RequestContext",
    "ResourceKind",
    "Statement",
    "Target",
    "acl_from_request",
    "canned_acl",
    "canonical_action",
    "check_acl_allowed",
    "decide",
    "evaluate",
    "is_public",
    "needs_existing_tags",
    "object_owner_for_write",
    "parse_acl_xml",
    "parse_grant_headers",
    "parse_policy",
    "refuse_public_acl",
    "refuse_public_policy",
    "render_acl_xml",
    "resource_arn",
    "versioned_action",
]
