"""Models of reporting: the KPI registry, rollups, dashboards, goals and digests."""
