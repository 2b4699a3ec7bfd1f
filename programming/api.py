"""REST endpoints of programming, built on members.api_base.CommunityViewSet and registered in
config/api_router.py.
"""
