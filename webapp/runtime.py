"""What the web app, the CLI, Celery tasks and the sweep thread share: sessions, clock, wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import Session, sessionmaker

from engine.clock import SYSTEM_CLOCK, Clock
from engine.database import configure_sqlite, make_session_factory
from engine.outbox import OutboxDispatcher
from engine.sweep import TimerSweep
from webapp.i18n import rendered
from workflows.attachments import FileStore
from workflows.mail import SmtpMailer
from workflows.media import MediaLimits
from workflows.runtime import Services, make_services, make_sweep


@dataclass
class Runtime:
    """Per-application wiring; services are built per unit of work from it."""

    session_factory: sessionmaker
    clock: Clock
    enqueue_outbox: Callable[[], None]
    files: FileStore | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    max_attachment_bytes: int = 25 * 1024 * 1024
    media_limits: MediaLimits = field(default_factory=MediaLimits)  # citizens' photos and videos
    handlers: dict[str, Callable[[int, dict[str, Any]], None]] = field(default_factory=dict)

    def services(self, session: Session) -> Services:
        """Engine and case services over `session`."""
        return make_services(session, self.clock, after_commit=self.enqueue_outbox, files=self.files,
                             timezone=self.timezone, max_attachment_bytes=self.max_attachment_bytes,
                             media_limits=self.media_limits)

    def sweep(self) -> TimerSweep:
        """The timer sweep over this application's database."""
        return make_sweep(self.session_factory, self.clock, after_fired=self.enqueue_outbox, timezone=self.timezone)

    def outbox(self) -> OutboxDispatcher:
        """The outbox dispatcher with this application's handlers."""
        return OutboxDispatcher(self.session_factory, self.handlers, self.clock)


def init_runtime(app: Flask, db, clock: Clock = SYSTEM_CLOCK) -> Runtime:
    """Create the runtime of `app` (after the database extension is bound)."""
    with app.app_context():
        engine = db.engine
        configure_sqlite(engine)

    def enqueue() -> None:
        from webapp.tasks import deliver_outbox

        try:
            deliver_outbox.delay()
        except Exception:  # noqa: BLE001 - the broker being down must not fail a committed step
            app.logger.warning("outbox delivery not queued (broker unreachable); the periodic run will do it")

    runtime = Runtime(make_session_factory(engine), clock, enqueue, files=FileStore(app.config["FILES_DIR"]),
                      timezone=app.config["TIMEZONE"], max_attachment_bytes=int(app.config["MAX_ATTACHMENT_MB"]) * 1024 * 1024,
                      media_limits=media_limits(app.config))
    runtime.handlers["email"] = SmtpMailer(app.config.get("SMTP_HOST"), int(app.config.get("SMTP_PORT") or 25),
                                           app.config.get("MAIL_FROM"), site_url=app.config["PUBLIC_URL"],
                                           render=rendered)
    app.extensions["ioc"] = runtime
    return runtime


def media_limits(config: Any) -> MediaLimits:
    """The citizens' photo and video limits from the configuration (IOC_MEDIA_*)."""
    mb = 1024 * 1024
    return MediaLimits(max_images=int(config["MEDIA_MAX_PHOTOS"]), max_videos=int(config["MEDIA_MAX_VIDEOS"]),
                       max_image_bytes=int(float(config["MEDIA_MAX_PHOTO_MB"]) * mb),
                       max_video_bytes=int(float(config["MEDIA_MAX_VIDEO_MB"]) * mb))


def runtime() -> Runtime:
    """The runtime of the current application."""
    return current_app.extensions["ioc"]
