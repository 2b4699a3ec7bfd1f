"""A developer's machine: debug on, a throwaway secret, SQLite and the filesystem broker unless
DATABASE_URL / REDIS_URL say otherwise."""

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="local-only-insecure-key-for-make-run-never-for-production"
)
