"""Settings for the example project: no database, no apps, nothing to migrate."""

import os

# A development key: never deploy with it (the production page says what to set).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "devserve-example-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
INSTALLED_APPS = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
DATABASES = {}
USE_TZ = True
