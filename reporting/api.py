"""REST endpoints of reporting, built on members.api_base.CommunityViewSet and registered in
config/api_router.py.
"""
