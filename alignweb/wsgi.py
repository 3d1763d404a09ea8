import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
application = get_wsgi_application()
# Import every URLconf and view now, while the server starts, instead of in the first
# request each process serves (a new-run form would wait seconds for module imports).
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect
