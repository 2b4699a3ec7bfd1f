"""Forms of programming."""
