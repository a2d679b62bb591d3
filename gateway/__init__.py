"""nfyio-gateway: the aiohttp server in front of the storage backends."""

__version__ = "0.1.0"

SERVER = "nfyio-gateway"
"""The ``Server`` header of both listeners: the product, never its version or the
framework's (aiohttp's default names Python's and its own)."""

__all__ = ["SERVER", "__version__"]
