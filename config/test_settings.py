"""Settings for the test suite: the project's settings with a fast password hasher.

Every persona logs in with a password; PBKDF2's deliberate slowness is a cost the tests do not need
(cookiecutter-django does the same). Subprocesses started by the tests (workers, manage.py) inherit
DJANGO_SETTINGS_MODULE and so these settings too.
"""

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
