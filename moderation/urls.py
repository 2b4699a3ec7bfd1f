"""URL patterns of moderation, mounted under c/<community_slug>/ by config.urls."""

urlpatterns: list = []
