"""Bucket lifecycle: the configuration's values and document (``rules``, ``document``)
and the background sweeper that applies them (``sweeper``). See docs/lifecycle.md."""
