import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
application = get_wsgi_application()

# Before the first request: templates, translations, URL tables, Markdown
# (helpdesk/warmup.py; the first agent ticket page of a worker cost ~4x).
from helpdesk.warmup import process_warm  # noqa: E402 (needs the app set up)

process_warm()
