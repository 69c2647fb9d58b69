"""The citizens' media limits from the configuration, and the request limit derived from them."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, defaults, finish
from webapp.runtime import media_limits
from workflows.media import MediaLimits

MB = 1024 * 1024


def configured(**overrides) -> dict:
    config = defaults("/tmp/instance")
    config.update(overrides)
    finish(config)
    return config


def test_the_defaults_take_a_full_report_in_one_request():
    config = configured()
    assert media_limits(config) == MediaLimits(6, 2, 10 * MB, 50 * MB)
    assert config["MAX_CONTENT_LENGTH"] == (6 * 10 + 2 * 50 + 10) * MB


def test_limits_follow_the_settings_and_an_explicit_request_limit_is_kept():
    config = configured(MEDIA_MAX_PHOTOS=3, MEDIA_MAX_VIDEOS=0, MEDIA_MAX_PHOTO_MB=2.5, MEDIA_MAX_VIDEO_MB=20)
    assert media_limits(config) == MediaLimits(3, 0, int(2.5 * MB), 20 * MB)
    assert config["MAX_CONTENT_LENGTH"] == int((25 + 10) * MB)  # officials' 25 MB attachment is larger
    assert configured(MAX_CONTENT_LENGTH=5 * MB)["MAX_CONTENT_LENGTH"] == 5 * MB


@pytest.mark.parametrize("key,value", [("MEDIA_MAX_PHOTOS", "six"), ("MEDIA_MAX_VIDEO_MB", -1)])
def test_a_limit_that_cannot_work_stops_start_up(key, value):
    with pytest.raises(ConfigError, match="IOC_MEDIA"):
        configured(**{key: value})
