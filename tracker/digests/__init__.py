"""Weekly digest emails: subscriptions, building and sending the digest, unsubscribing."""
