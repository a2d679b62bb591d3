"""The audit log (docs/audit.md): who changed what, every sign-in, from where.

Events are noted in memory by each worker (:class:`AuditRecorder`), written in batches to
the state store (:class:`gateway.identity.audit.AuditStore`), read through
``GET /v1/audit-events`` (:mod:`gateway.api.audit`) and ``nfyio-gateway audit``.
"""

from gateway.audit.events import event_json, request_event
from gateway.audit.recorder import AuditRecorder

__all__ = ["AuditRecorder", "event_json", "request_event"]
