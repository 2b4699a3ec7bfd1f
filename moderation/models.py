"""Models of moderation: guidelines, reports, cases, decisions, sanctions, appeals and auto-rules."""
