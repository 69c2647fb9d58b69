"""The fixed vocabularies of monitoring: the ten monitoring services (fields), period kinds, directions."""

from __future__ import annotations

# The province's ten monitoring services. key: (Vietnamese, English, the case category of their breaches).
FIELDS: dict[str, tuple[str, str, str]] = {
    "socio_economic": ("Chỉ tiêu kinh tế - xã hội", "Socio-economic indicators", "socio_economic"),
    "public_services": ("Dịch vụ công", "Public services", "public_services"),
    "government": ("Chỉ số điều hành của chính quyền", "Government performance", "government"),
    "health": ("Y tế", "Health", "health"),
    "education": ("Giáo dục", "Education", "education"),
    "tourism": ("Du lịch", "Tourism", "tourism"),
    "environment": ("Môi trường", "Environment", "pollution"),
    "cyber_security": ("An toàn thông tin", "Cyber security", "cyber_security"),
    "security_traffic": ("An ninh trật tự và giao thông", "Security and traffic", "public_security"),
    "field_reports": ("Phản ánh hiện trường", "Field reports", "other"),
}

# How often an indicator is reported. "ytd": a cumulative year-to-date figure reported every month.
PERIOD_KINDS: dict[str, tuple[str, str]] = {
    "monthly": ("Hằng tháng", "Monthly"),
    "quarterly": ("Hằng quý", "Quarterly"),
    "yearly": ("Hằng năm", "Yearly"),
    "ytd": ("Lũy kế từ đầu năm (hằng tháng)", "Cumulative year to date (monthly)"),
}

DIRECTIONS: dict[str, tuple[str, str]] = {
    "higher": ("Càng cao càng tốt", "Higher is better"),
    "lower": ("Càng thấp càng tốt", "Lower is better"),
}

# Administrative levels that may report an indicator (AdminUnit.kind values).
LEVELS: dict[str, tuple[str, str]] = {
    "province": ("Cấp tỉnh", "Province"),
    "department": ("Sở, ngành", "Department"),
    "commune": ("Cấp xã", "Commune"),
    "ward": ("Phường", "Ward"),
}

SEVERITIES: dict[str, tuple[str, str]] = {
    "low": ("Thấp", "Low"),
    "medium": ("Trung bình", "Medium"),
    "high": ("Cao", "High"),
    "critical": ("Nghiêm trọng", "Critical"),
}
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}

# The categories monitoring cases take that citizens never choose (Category.internal).
INTERNAL_CATEGORIES: dict[str, tuple[str, str]] = {
    "socio_economic": ("Chỉ tiêu kinh tế - xã hội", "Socio-economic indicators"),
    "government": ("Chỉ số điều hành của chính quyền", "Government performance"),
    "cyber_security": ("An toàn thông tin", "Cyber security"),
}
