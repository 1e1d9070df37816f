# One image for every service: web, portal, worker and beat differ only by command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY . .
# collectstatic needs settings but no real secrets or services.
RUN SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9') \
    DATABASE_URL=postgres://build@localhost/build \
    CELERY_BROKER_URL=redis://localhost:6379/0 \
    EMAIL_URL=smtp://localhost:25 \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 desk && mkdir -p /app/var/media && chown -R desk /app/var
USER desk
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--logger-class", "portal.gunicorn_logging.RedactingLogger", "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s\" %(s)s %(b)s %(L)s"]
