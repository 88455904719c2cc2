"""The one error type of the bundler."""

from __future__ import annotations


class BundleError(Exception):
    """A bundle cannot be built. ``str()`` says what is wrong and what to do about it."""
