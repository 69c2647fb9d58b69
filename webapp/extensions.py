"""Extensions, created unbound and bound in the application factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy

from engine.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
# Storage from RATELIMIT_STORAGE_URI: memory in the embedded mode, Redis in production.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = SocketIO()
