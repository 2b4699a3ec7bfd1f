"""Models of programming: events, RSVPs, surveys, the content calendar and feedback escalation."""
