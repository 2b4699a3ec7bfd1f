"""Models of moderation: guidelines, reports, cases, decisions, sanctions, appeals, auto-rules."""
