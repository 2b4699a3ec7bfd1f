"""Access rules of programming beyond the shared capability table (members.permissions)."""
