"""Access rules of moderation beyond the shared capability table (members.permissions)."""
