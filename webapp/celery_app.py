"""Celery bound to the Flask app: tasks run inside an application context."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app of `app`: Redis when configured, eager in-process otherwise."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    redis_url = app.config.get("REDIS_URL")
    eager = bool(app.config["CELERY_EAGER"])
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object({
        "broker_url": redis_url or "memory://",
        "result_backend": redis_url,
        "task_ignore_result": True,
        "task_always_eager": eager,
        "task_eager_propagates": bool(app.config.get("TESTING")),
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        "task_acks_late": True,  # a worker killed mid-task gives the task back
        "task_reject_on_worker_lost": True,
        "beat_schedule": {
            "sweep-timers": {"task": "ioc.sweep_timers", "schedule": float(app.config["TIMER_SWEEP_INTERVAL"])},
            "deliver-outbox": {"task": "ioc.deliver_outbox", "schedule": float(app.config["OUTBOX_INTERVAL"])},
            "process-alerts": {"task": "ioc.process_alerts", "schedule": float(app.config["ALERT_INTERVAL"]),
                               "kwargs": {"retry_failed": True}},
            "plan-report-deliveries": {"task": "ioc.plan_report_deliveries",
                                       "schedule": float(app.config["REPORT_SCHEDULE_INTERVAL"])},
            "retry-camera-incidents": {"task": "ioc.retry_camera_incidents",
                                       "schedule": float(app.config["CAMERA_RETRY_INTERVAL"])},
        },
    })
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    import webapp.tasks  # noqa: F401 - registers the tasks on this app

    return celery_app
