"""Django admin registrations of moderation."""
