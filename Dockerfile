# Hearth's production image: one image for web (gunicorn), the Celery worker and Celery beat.
# docker-compose.yml picks the command; configuration comes from the environment (.env.example).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The app runs as an unprivileged user; the code stays owned by root, so it cannot rewrite itself.
# Its home, /var/lib/hearth, is the one writable place: Celery beat's schedule (a volume in
# docker-compose.yml) and gunicorn's control socket ($HOME/.gunicorn) live there.
RUN groupadd --system --gid 10001 hearth \
 && useradd --system --uid 10001 --gid hearth --home-dir /var/lib/hearth --create-home \
      --shell /usr/sbin/nologin hearth \
 && install -d -o hearth -g hearth /var/lib/hearth/beat

WORKDIR /app

# Dependencies first, in their own layer, so a code change does not reinstall them: the list is
# read from pyproject.toml, which stays the only place they are declared.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
# Editable on purpose: settings find templates/ and static/ relative to the source tree
# (BASE_DIR); a regular install would copy the packages into site-packages, away from them.
RUN pip install --no-deps -e .

# Static files are collected into the image and served by whitenoise. Production settings refuse
# to load without their secrets, so this one step gets throwaway values that exist only for its
# duration (a fresh random key; nothing connects to the database or Redis here).
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build@build.invalid:5432/build \
    REDIS_URL=redis://build.invalid:6379/0 \
    EMAIL_URL=consolemail:// \
    HEARTH_SITE_URL=https://build.invalid \
    python manage.py collectstatic --noinput

ENV DJANGO_SETTINGS_MODULE=config.settings.production

USER hearth
EXPOSE 8000

# docker-compose.yml runs migrations before this and passes its own gunicorn options.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
