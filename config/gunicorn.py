"""gunicorn settings for the web container: `gunicorn -c python:config.gunicorn config.wsgi`.

Listens on GUNICORN_BIND (127.0.0.1:8000 by default), logs every request, and, like Django's own logging
(LOG_JSON, on when DEBUG=False), writes one JSON object per line on stdout for the server's and the access
log's lines too.
Worker processes: WEB_CONCURRENCY (read by gunicorn itself). Command-line options override these.
"""

import environ

_env = environ.Env()
LOG_JSON = _env.bool("LOG_JSON", default=not _env.bool("DEBUG", default=True))

# Loopback unless told otherwise: docker-compose.yml sets GUNICORN_BIND=0.0.0.0:8000 inside the container,
# where the published port is what faces the host (and itself binds 127.0.0.1 by default).
bind = [_env("GUNICORN_BIND", default="127.0.0.1:8000")]
accesslog = "-"
errorlog = "-"

if LOG_JSON:
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
