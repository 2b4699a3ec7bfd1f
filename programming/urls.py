"""URL patterns of programming, mounted under c/<community_slug>/ by config.urls."""

urlpatterns: list = []
