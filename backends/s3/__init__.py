"""The upstream backend: an S3-compatible store reached through aiobotocore."""

from backends.s3.backend import S3Backend
from backends.s3.config import UpstreamConfig

__all__ = ["S3Backend", "UpstreamConfig"]
