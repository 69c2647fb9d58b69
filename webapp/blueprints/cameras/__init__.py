"""The camera registry at /cameras/: the list with each camera's status and frame rate, the form of a camera, the
drawing of its region of interest and lanes on a live snapshot.

Administrators change cameras; operators (who verify the incidents cameras raise) see them. One blueprint, one
submodule per page, as monitoring's; the words for statuses and settings live here, the checks in
workflows.cameras.registry.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.runtime import runtime
from workflows.cameras.registry import CameraRegistry

bp = Blueprint("cameras", __name__, url_prefix="/cameras")

EDITORS = ("admin",)
VIEWERS = ("operator", "admin")

# The runner's statuses and their details (message keys stored by workflows.cameras, worded at display time).
STATUSES = {"unknown": _l("not reported yet"), "online": _l("online"), "offline": _l("offline"),
            "faulty": _l("faulty")}
DETAILS = {
    "unreachable": _l("the stream cannot be reached"), "timeout": _l("the stream does not answer in time"),
    "corrupt": _l("the stream sends damaged data"), "ended": _l("the stream ended"),
    "unsupported": _l("the stream's format is not supported"), "no_frames": _l("no pictures arrive"),
    "frozen": _l("the picture is frozen"), "covered": _l("the lens is covered"),
    "defocused": _l("the picture is out of focus"), "moved": _l("the camera was turned away from its view"),
    "disabled": _l("switched off in the registry"), "stopped": _l("handed over to another vision worker"),
    "analysis_failed": _l("the analysis failed; see the vision service's log"),
}
READ_MODES = {
    "stream": (_l("Full stream"), _l("every frame is decoded; analysed at the rate below")),
    "keyframes": (_l("Keyframes only"), _l("only the stream's keyframes are decoded (about one every 1-2 s): "
                                            "far cheaper, enough for congestion and faults")),
    "snapshot": (_l("JPEG snapshots"), _l("one picture is fetched at the interval below (a snapshot URL)")),
}


def registry() -> CameraRegistry:
    """The registry service on this request's session and the runtime's clock."""
    return CameraRegistry(db.session, runtime().clock)


def detail_words(key: str | None) -> str:
    """A status detail in the reader's language (an unknown key as it was stored)."""
    if not key:
        return ""
    words = DETAILS.get(key)
    return str(words) if words is not None else key


# Pages: one import line per submodule (each adds its routes to `bp`).
from webapp.blueprints.cameras import regions, registry_pages, waiting  # noqa: E402,F401

__all__ = ["bp", "EDITORS", "VIEWERS", "registry", "detail_words"]
