"""Django admin registrations of reporting."""
