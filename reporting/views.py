"""HTML views of reporting, built on members.views_base.CommunityView."""
