"""Digest subscriptions (see tracker/digests/)."""

__all__ = []
