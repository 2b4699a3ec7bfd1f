"""Access rules of reporting beyond the shared capability table (members.permissions)."""
