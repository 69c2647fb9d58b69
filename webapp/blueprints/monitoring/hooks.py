"""The alert webhook: POST /monitoring/hooks/alerts, for Prometheus Alertmanager and other systems.

Machines call it with their source's token (`Authorization: Bearer <token>`, which Alertmanager's
`http_config.authorization` sends), so it takes no CSRF token and is rate-limited per source. The call only checks
the payload and keeps it (one receipt); the alerts become cases in `ioc.process_alerts`. Answers are JSON: 202
with the receipt, 400 naming each problem (nothing stored), 401 for a wrong or revoked token, 413 for a body
larger than IOC_ALERT_MAX_BYTES, 429 past the rate limit. docs/MONITORING.md has an Alertmanager configuration.
"""

from __future__ import annotations

import hashlib

from flask import current_app, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _

from webapp.alert_jobs import enqueue_alert_processing
from webapp.blueprints.monitoring import bp
from webapp.extensions import db, limiter
from webapp.i18n import translate
from webapp.runtime import runtime
from webapp.security import csrf
from workflows.monitoring.alerts import AlertAuthError, AlertPayloadError, AlertReceiver


def _token() -> str:
    """The bearer token of the call ("" when there is none)."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _rate_key() -> str:
    """Calls are counted per source (its token's digest), so one noisy system cannot starve the others."""
    return "alerts:" + hashlib.sha256(_token().encode()).hexdigest()[:16]


def _language() -> str:
    """?lang, then Accept-Language, then Vietnamese: a machine has no account or cookie to say it."""
    wanted = request.args.get("lang")
    return wanted if wanted in ("vi", "en") else request.accept_languages.best_match(("vi", "en")) or "vi"


@bp.post("/hooks/alerts")
@limiter.limit(lambda: current_app.config["ALERT_RATE_LIMIT"], key_func=_rate_key)
def alert_hook():
    """Keep a webhook call of an alert source (Alertmanager's payload or the plain format); 202 with its receipt."""
    with force_locale(_language()):
        return _alert_hook()


def _alert_hook():
    limit = int(current_app.config["ALERT_MAX_BYTES"])
    too_large = (request.content_length or 0) > limit
    body = b"" if too_large else request.get_data(cache=False)
    if too_large or len(body) > limit:
        return jsonify(status=413, error=_("The payload is larger than %(limit)s bytes: send the alerts in smaller "
                                           "groups (Alertmanager's max_alerts).", limit=limit)), 413
    try:
        absorbed = AlertReceiver(db.session, runtime().clock).receive(_token(), body)
    except AlertAuthError:
        db.session.rollback()
        answer = jsonify(status=401, error=_("No active alert source has this token: send the token made for it in "
                                             "the console as 'Authorization: Bearer <token>'."))
        answer.status_code = 401
        answer.headers["WWW-Authenticate"] = 'Bearer realm="ioc-alerts"'
        return answer
    except AlertPayloadError as exc:
        db.session.rollback()
        return jsonify(status=400, error=_("The payload was refused and nothing was stored: fix what is listed and "
                                           "send it again."),
                       problems=[translate(p) for p in exc.problems]), 400
    enqueue_alert_processing()
    return jsonify(status=202, receipt=absorbed.receipt_id, alerts=absorbed.alerts, format=absorbed.format,
                   source=absorbed.source), 202


csrf.exempt(alert_hook)
