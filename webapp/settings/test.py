"""Test settings: real PostgreSQL when DATABASE_URL points at it (CI), fast hashing, no debug."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="test-only-not-secret")
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver", "[::1]"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Uploads made by tests go to a throwaway folder, never into the checkout.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="trialmark-test-media-"))
