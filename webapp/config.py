"""Every configuration key, declared once with a default that needs nothing installed.

Environment variables prefixed with IOC_ override them (IOC_DATABASE_URL,
IOC_REDIS_URL, …); values are read as JSON when they parse (true, 5000).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


def defaults(instance_path: str) -> dict[str, Any]:
    """The embedded defaults: SQLite under the instance folder, eager Celery, sweep thread."""
    return {
        "SECRET_KEY": "dev-only-change-me",
        "PRODUCTION": False,
        "DATABASE_URL": f"sqlite:///{os.path.join(instance_path, 'ioc.sqlite3')}",
        "REDIS_URL": None,  # broker and result backend; None = Celery runs tasks eagerly in-process
        "CELERY_EAGER": None,  # None = eager exactly when REDIS_URL is unset
        "TIMER_SWEEP": "thread",  # thread (in the server), beat (Celery beat), off
        "TIMER_SWEEP_INTERVAL": 1.0,
        # The cameras watched by the server itself (webapp/vision_thread.py): thread, or off (`ioc vision` workers do
        # it); None = thread for `ioc demo`, off for `ioc serve`. Without IOC_REDIS_URL its leases stay in memory.
        "VISION": None,
        "OUTBOX_INTERVAL": 2.0,
        "HOST": "127.0.0.1",
        "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-For/Proto/Host are believed
        "PORT": 5000,
        "BPMN_DIR": str(PROJECT_ROOT / "bpmn"),
        "FILES_DIR": os.path.join(instance_path, "files"),  # attachments, by sha256
        "SMTP_HOST": None,
        "SMTP_PORT": 25,
        "MAIL_FROM": "ioc@daklak.gov.vn",
        "PUBLIC_URL": None,  # the site's address in emails to citizens; None = http://HOST:PORT
        "TIMEZONE": "Asia/Ho_Chi_Minh",  # times are stored in UTC and shown in this zone
        "BABEL_DEFAULT_LOCALE": "vi",
        "LANGUAGES": ["vi", "en"],
        "LANG": "vi",  # language of the `ioc` command's messages: vi or en
        # Sessions: cookies only over HTTPS in production (set false behind plain HTTP only for tests).
        "SESSION_COOKIE_SECURE": None,  # None = true exactly in production
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",  # the year-long sign-in cookie is not sent by other sites' requests
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,  # one working day
        "WTF_CSRF_TIME_LIMIT": 12 * 3600,
        "RATELIMIT_STORAGE_URI": None,  # None = Redis when IOC_REDIS_URL is set, else memory
        # Redis down: count in each process's memory meanwhile (limits degraded, intake not refused),
        # back to Redis when it answers again; any other storage error lets the request through.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_RATE_LIMIT": "10 per minute",  # sign-in attempts per address (accounts lock after 5 failures)
        "RATING_RATE_LIMIT": "10 per minute;100 per day",  # ratings of published resolutions, per address
        # The citizens' portal, per address: reports, follows and sign-ups sent; look-ups (tracking, duplicates).
        "PORTAL_RATE_LIMIT": "5 per minute;30 per hour",
        "PORTAL_LOOKUP_RATE_LIMIT": "60 per minute",
        "PORTAL_MIN_FILL_SECONDS": 3,  # a report sent sooner after the form opened is asked to be sent again
        # Open311 GeoReport v2 (/open311/v2): our jurisdiction_id, the contact discovery gives, POSTs per key and address.
        "OPEN311_JURISDICTION": "daklak.gov.vn",
        "OPEN311_CONTACT": "Trung tâm IOC tỉnh Đắk Lắk — đường dây nóng 1022, ioc@daklak.gov.vn",
        "OPEN311_RATE_LIMIT": "30 per minute",
        "MAX_CONTENT_LENGTH": None,  # the largest request; None = a citizen's full submission (photos + videos) + 10 MB
        "MAX_ATTACHMENT_MB": 25,
        # What a citizen may send with a report (checked by content; photos re-encoded without EXIF/GPS).
        "MEDIA_MAX_PHOTOS": 6,
        "MEDIA_MAX_VIDEOS": 2,
        "MEDIA_MAX_PHOTO_MB": 10,
        "MEDIA_MAX_VIDEO_MB": 50,
        "MAP_TILES_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",  # "" = no base map
        "MAP_ATTRIBUTION": "© OpenStreetMap",
        "SOCKETIO_MESSAGE_QUEUE": None,  # None = IOC_REDIS_URL when set (Celery workers emit through it)
        # Alerts from other systems (POST /monitoring/hooks/alerts): calls per source, the largest body, whether each
        # call queues its processing at once ("queue") or leaves it to the periodic run ("periodic"), which also
        # retries failed receipts every ALERT_INTERVAL seconds (Celery beat).
        "ALERT_RATE_LIMIT": "1200 per minute",
        "ALERT_MAX_BYTES": 5 * 1024 * 1024,
        "ALERT_PROCESSING": "queue",
        "ALERT_INTERVAL": 30.0,
        # Leaders' reports by subscription: Celery beat plans the due deliveries every REPORT_SCHEDULE_INTERVAL
        # seconds (also queueing again those whose worker died); a worker holds a delivery for REPORT_LEASE_SECONDS,
        # renewed at each stage, before another may take it over.
        "REPORT_SCHEDULE_INTERVAL": 60.0,
        "REPORT_LEASE_SECONDS": 300.0,
        # Camera incidents whose case could not be opened (workflows/cameras/failures.py): Celery beat tries the
        # due ones every CAMERA_RETRY_INTERVAL seconds (the vision runners do too, every 30 s).
        "CAMERA_RETRY_INTERVAL": 30.0,
    }


def finish(config: dict[str, Any]) -> None:
    """Derive dependent keys and refuse settings that cannot work in production."""
    if config.get("CELERY_EAGER") is None:
        config["CELERY_EAGER"] = not config.get("REDIS_URL")
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    if not config.get("PUBLIC_URL"):
        config["PUBLIC_URL"] = f"http://{config['HOST']}:{config['PORT']}"
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = bool(config.get("PRODUCTION"))
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if config.get("RATELIMIT_STORAGE_URI") is None:
        config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    if config.get("SOCKETIO_MESSAGE_QUEUE") is None:
        config["SOCKETIO_MESSAGE_QUEUE"] = config.get("REDIS_URL")
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    try:
        media = [float(config[k]) for k in ("MEDIA_MAX_PHOTOS", "MEDIA_MAX_VIDEOS", "MEDIA_MAX_PHOTO_MB",
                                            "MEDIA_MAX_VIDEO_MB", "MAX_ATTACHMENT_MB")]
    except (TypeError, ValueError):
        raise ConfigError("IOC_MEDIA_MAX_PHOTOS, IOC_MEDIA_MAX_VIDEOS, IOC_MEDIA_MAX_PHOTO_MB, IOC_MEDIA_MAX_VIDEO_MB and"
                          " IOC_MAX_ATTACHMENT_MB must be numbers (e.g. 6, 2, 10, 50, 25)") from None
    if any(v < 0 for v in media):
        raise ConfigError("the IOC_MEDIA_* limits and IOC_MAX_ATTACHMENT_MB cannot be negative")
    if config.get("MAX_CONTENT_LENGTH") is None:
        photos, videos, photo_mb, video_mb, attachment_mb = media
        # The form's own fields and multipart framing fit in the 10 MB margin.
        config["MAX_CONTENT_LENGTH"] = int((max(photos * photo_mb + videos * video_mb, attachment_mb) + 10) * 1024 * 1024)
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(config["TIMEZONE"])
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError on a malformed key
        raise ConfigError(f"IOC_TIMEZONE={config['TIMEZONE']!r} is not a time zone; use e.g. Asia/Ho_Chi_Minh") from None
    if config["LANG"] not in config["LANGUAGES"]:
        raise ConfigError(f"IOC_LANG={config['LANG']!r} is not a language of the interface;"
                          f" use {' or '.join(config['LANGUAGES'])}")
    if config["ALERT_PROCESSING"] not in ("queue", "periodic"):
        raise ConfigError("IOC_ALERT_PROCESSING must be queue or periodic")
    if config["TIMER_SWEEP"] not in ("thread", "beat", "off"):
        raise ConfigError("IOC_TIMER_SWEEP must be thread, beat or off")
    if config.get("VISION") not in (None, "", "thread", "off"):
        raise ConfigError("IOC_VISION must be thread (the server watches the cameras) or off")
    if not config.get("CELERY_EAGER") and not config.get("REDIS_URL"):
        raise ConfigError("IOC_CELERY_EAGER=false needs a broker: set IOC_REDIS_URL=redis://host:6379/0")
    if config.get("PRODUCTION") and not config.get("TESTING"):
        problems = []
        if config["DATABASE_URL"].startswith("sqlite"):
            problems.append("set IOC_DATABASE_URL=postgresql+psycopg://user:password@host/ioc (SQLite is for the demo only)")
        if config["CELERY_EAGER"]:
            problems.append("set IOC_REDIS_URL=redis://host:6379/0 and leave IOC_CELERY_EAGER unset"
                            " (eager Celery is for the demo only)")
        if config["SECRET_KEY"] == "dev-only-change-me":
            problems.append("set IOC_SECRET_KEY to a long random value")
        if problems:
            raise ConfigError("Production mode (IOC_PRODUCTION=true) refuses to start:\n  - " + "\n  - ".join(problems))
