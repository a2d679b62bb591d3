"""External services the tests start themselves (SeaweedFS, ...), one per test session."""
