"""News in: feeds, the entries read from them, and stories (reports of one event). The lowest layer."""
