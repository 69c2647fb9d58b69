"""Live updates over Socket.IO: rooms per user, unit, role and scope, fed by the outbox.

A signed-in official's connection joins `user:<username>`, `unit:<code>` for each unit they
work in, `role:<role>@<code>` for each role binding and `scope:<code>` for every unit in
their view, so a leader or the IOC above a unit hears what happens in it. Visitors are
refused. Outbox messages (task.created / task.closed / task.assigned, notification.created)
become the events "task", "case" and "notification" for the rooms concerned. In a Celery
worker the emit goes through the Redis message queue to every web process; in the embedded
mode (eager Celery, no queue) straight to this server's clients.
Every event carries the outbox message id as `id`: delivery is at least once, so a page may
see an event twice and must treat it idempotently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, SocketIO, join_room

from webapp.extensions import socketio
from webapp.i18n import rendered
from webapp.runtime import Runtime
from workflows.access import Actor

TASK_TOPICS = ("task.created", "task.closed", "task.assigned")


def rooms_of(actor: Actor) -> list[str]:
    """The rooms a signed-in user's pages listen to."""
    rooms = {f"user:{actor.username}"}
    rooms.update(f"unit:{code}" for code in actor.own_unit_codes)
    rooms.update(f"role:{role}@{code}" for role, code in actor.bindings)
    rooms.update(f"scope:{code}" for code in actor.scope_codes)
    return sorted(rooms)


def unit_rooms(unit: str | None, role: str | None = None) -> list[str]:
    """Who hears about a unit's work: its officials, the holders of `role` there, everyone whose view covers it."""
    if not unit:
        return []
    rooms = [f"unit:{unit}", f"scope:{unit}"]
    if role:
        rooms.append(f"role:{role}@{unit}")
    return rooms


class LiveEmitter:
    """Emits events to rooms: through the message queue when there is one, else to this server's clients."""

    def __init__(self, server: Any, message_queue: str | None):
        self._server = server
        self._queue = message_queue
        self._external: SocketIO | None = None
        self._lock = threading.Lock()

    def emit(self, event: str, data: dict[str, Any], rooms: Iterable[str]) -> None:
        """Send `event` once to everyone in any of `rooms` (a client in several rooms gets it once)."""
        targets = sorted({room for room in rooms if room})
        if not targets:
            return
        if self._queue:
            self._queue_emitter().emit(event, data, to=targets, namespace="/")
        else:
            self._server.emit(event, data, to=targets, namespace="/")

    def _queue_emitter(self) -> SocketIO:
        # A write-only client of the queue: a Celery worker has no Socket.IO clients of its own,
        # and the web processes subscribed to the queue pass the event on to theirs.
        with self._lock:
            if self._external is None:
                self._external = SocketIO(message_queue=self._queue)
            return self._external


def init_realtime(app: Flask) -> None:
    """Bind Socket.IO (through Redis when IOC_REDIS_URL is set) and push outbox messages to the rooms concerned."""
    queue = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    # Flask-SocketIO keeps the last app's message-queue manager on the shared extension when the
    # next app has no queue: drop it, so each app gets exactly the queue its configuration names.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(app, async_mode="threading", message_queue=queue)
    # init_app gives the shared extension a new server per app: register on it and keep it.
    socketio.on_event("connect", connect)
    live = LiveEmitter(socketio.server, queue)
    app.extensions["ioc_live"] = live
    runtime: Runtime = app.extensions["ioc"]
    for topic in TASK_TOPICS:
        runtime.handlers[topic] = _task_handler(topic, live)
    runtime.handlers["notification.created"] = _notification_handler(live)
    for topic in ("case.comment", "case.attachment"):
        runtime.handlers[topic] = _case_note_handler(topic, live)


def connect(auth: Any = None) -> None:
    """Let signed-in users in (by their session cookie) and put them in their rooms; refuse visitors."""
    if not current_user.is_authenticated:
        raise ConnectionRefusedError("sign in first")
    for room in rooms_of(current_user.actor):
        join_room(room)


def emitter() -> LiveEmitter:
    """The emitter of the current application (for views that push after their commit)."""
    return current_app.extensions["ioc_live"]


def push_unread(username: str, unread: int) -> None:
    """Tell a user's open pages their new unread count (after they marked notifications read)."""
    emitter().emit("notification", {"id": None, "kind": None, "unread": unread}, [f"user:{username}"])


# --------------------------------------------------------------------------- outbox handlers
# They read nothing from the database: the dispatcher holds its transaction (SQLite's write
# lock) while a handler runs, so everything a push says comes from the message's payload.


def _task_handler(topic: str, live: LiveEmitter) -> Callable[[int, dict[str, Any]], None]:
    change = topic.split(".", 1)[1]

    def handle(message_id: int, payload: dict[str, Any]) -> None:
        """Push a task change to its unit, role, scope and holder, and tell them its case changed."""
        unit, role, assignee = payload.get("unit"), payload.get("role"), payload.get("assignee")
        case_code = payload.get("business_key")
        rooms = unit_rooms(unit, role) + ([f"user:{assignee}"] if assignee else [])
        live.emit("task", {"id": message_id, "change": change, "task_id": payload.get("task_id"),
                           "case_code": case_code, "title": payload.get("title"), "unit": unit, "role": role,
                           "assignee": assignee, "state": payload.get("state")}, rooms)
        # Every change of a case's status happens in a step that also opens, closes or assigns a task.
        live.emit("case", {"id": message_id, "case_code": case_code, "change": topic}, rooms)

    return handle


def _case_note_handler(topic: str, live: LiveEmitter) -> Callable[[int, dict[str, Any]], None]:
    def handle(message_id: int, payload: dict[str, Any]) -> None:
        """Tell the open pages of everyone who sees the case that a comment or a file was added."""
        rooms = [room for unit in payload.get("units") or [] for room in (f"unit:{unit}", f"scope:{unit}")]
        live.emit("case", {"id": message_id, "case_code": payload.get("case_code"), "change": topic,
                           "author": payload.get("author")}, rooms)

    return handle


def _notification_handler(live: LiveEmitter) -> Callable[[int, dict[str, Any]], None]:
    def handle(message_id: int, payload: dict[str, Any]) -> None:
        """Push a new notification to its person's pages (they fetch their unread count)."""
        live.emit("notification", {"id": message_id, "kind": payload.get("kind"), "title": rendered(payload, "title"),
                                   "case_code": payload.get("case_code")}, [f"user:{payload.get('username')}"])

    return handle
