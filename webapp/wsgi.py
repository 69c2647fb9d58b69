"""WSGI entry point for production servers: `gunicorn -w 4 -b 0.0.0.0:8000 webapp.wsgi:app`."""

from webapp import create_app

app = create_app()
