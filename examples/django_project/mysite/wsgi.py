"""The project's WSGI module, as ``django-admin startproject`` writes it.

devserve serves it unchanged: ``devserve --app mysite.wsgi:application`` from the
directory holding ``manage.py``; so do gunicorn and waitress.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = get_wsgi_application()
