"""The roles of the operations centre, and the lane names that mean each one."""

from __future__ import annotations

ROLES: dict[str, tuple[str, str]] = {
    # key: (Vietnamese, English)
    "citizen": ("Người dân", "Citizen"),
    "operator": ("Tổng đài viên", "Operator"),
    "officer": ("Cán bộ xử lý", "Handling officer"),
    "unit_head": ("Thủ trưởng đơn vị", "Unit head"),
    "leader": ("Lãnh đạo UBND", "Leader"),
    "designer": ("Người thiết kế quy trình", "Process designer"),
    "admin": ("Quản trị hệ thống", "Administrator"),
}

# Extra names a designer may give a lane for the same role.
_ALIASES = {
    "Điện thoại viên": "operator",
    "Lãnh đạo đơn vị": "unit_head",
    "Lãnh đạo": "leader",
}


def lane_roles() -> dict[str, str]:
    """Lane name → role key: the key itself, its Vietnamese and English names, aliases."""
    mapping = {key: key for key in ROLES}
    for key, (vi, en) in ROLES.items():
        mapping[vi] = key
        mapping[en] = key
    mapping.update(_ALIASES)
    return mapping
