"""Live updates over Socket.IO (filled in by the live-updates work)."""

from __future__ import annotations

from flask import Flask

from webapp.extensions import socketio


def init_realtime(app: Flask) -> None:
    """Bind Socket.IO; through Redis when IOC_REDIS_URL is set, so Celery workers can emit."""
    socketio.init_app(app, async_mode="threading", message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"))
