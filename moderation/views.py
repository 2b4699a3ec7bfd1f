"""HTML views of moderation, built on members.views_base.CommunityView."""
