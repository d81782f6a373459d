"""The admin key the integration tests configure, and the header that presents it."""
from __future__ import annotations

KEY = "test-admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
