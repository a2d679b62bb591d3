"""nfyio-gateway: the aiohttp server in front of the storage backends."""

__version__ = "0.1.0"

__all__ = ["__version__"]
