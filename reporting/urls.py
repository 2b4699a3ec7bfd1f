"""URL patterns of reporting, mounted under c/<community_slug>/ by config.urls."""

urlpatterns: list = []
