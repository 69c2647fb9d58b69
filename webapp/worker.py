"""Entry point for Celery processes: `celery -A webapp.worker worker` (or `ioc worker`)."""

from webapp import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
