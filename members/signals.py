import logging

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

security_log = logging.getLogger("hearth.security")


@receiver(user_login_failed)
def log_failed_login(
    sender: object, credentials: dict, request: object = None, **_: object
) -> None:
    security_log.warning(
        "failed login for %s", credentials.get("email") or credentials.get("username")
    )
