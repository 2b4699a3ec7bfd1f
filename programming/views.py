"""HTML views of programming, built on members.views_base.CommunityView."""
