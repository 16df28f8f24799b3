# One image for every Watchpost process: web (gunicorn), worker and beat (celery), and the one-shot
# migrate step. Built from pyproject.toml; see docker-compose.yml and README.md, "Run in production".
FROM python:3.11-slim

# PYTHONPATH: the source tree in /app (with templates, fixtures, static) comes before the installed copy.
# WEB_CONCURRENCY: gunicorn worker processes (override in .env).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    WATCHPOST_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=3

RUN groupadd --system --gid 10001 watchpost \
    && useradd --system --uid 10001 --gid watchpost --create-home --home-dir /home/watchpost watchpost

WORKDIR /app
COPY . /app
RUN pip install . \
    && rm -rf build *.egg-info \
    && mkdir -p /app/var /app/staticfiles \
    && chown -R watchpost:watchpost /app/var

# Static files are collected (and compressed, with hashed names) into the image. The key is a
# placeholder for this step only: the real SECRET_KEY comes from .env at run time.
RUN DEBUG=False SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
    WATCHPOST_READ_DOTENV=0 LOG_LEVEL=WARNING \
    python manage.py collectstatic --noinput \
    && rm -rf /app/var/* \
    && chown -R watchpost:watchpost /app/var

USER watchpost
EXPOSE 8000

# Port 8000, access log, JSON log lines (config/gunicorn.py); WEB_CONCURRENCY sets the worker processes.
CMD ["gunicorn", "-c", "python:config.gunicorn", "config.wsgi"]
