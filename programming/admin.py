"""Django admin registrations of programming."""
