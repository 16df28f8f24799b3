"""Dashboards, manual logging and the review queue (pages, figures, exports, Atom feeds)."""
