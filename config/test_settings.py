"""Settings for the test suite: the project's settings with a fast password hasher.

Every persona logs in with a password; PBKDF2's deliberate slowness is a cost the tests do not need
(cookiecutter-django does the same). Subprocesses started by the tests (workers, manage.py) inherit
DJANGO_SETTINGS_MODULE and so these settings too.
"""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The suite's default matching mode is the rules alone (a supported mode of its own, and what most tests
# assert about); tests of the learned matcher switch the encoder on (tests/test_learned_matching.py).
WATCHPOST_ENCODER = env("WATCHPOST_ENCODER", default="none")  # noqa: F405

# Each test process's memory, whatever REDIS_URL says: tests read the cache's own store and start with it
# empty (tests/conftest.py); the test of the Redis cache sets CACHES itself.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "watchpost-tests"}
}
