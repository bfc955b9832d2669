"""The desk's CSRF protection: its own module, so pages use it without importing the package."""

from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
