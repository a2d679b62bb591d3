"""The S3 endpoint: addressing, the operation table, handlers, XML and errors."""
