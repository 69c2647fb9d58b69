"""Cameras: the registry of CCTV cameras the vision service watches, and the cases their incidents open.

`models` (cameras and their incidents), `registry` (the admins' service: every field checked, a camera's
`vision.config.CameraConfig`), `incidents` (the vision service's sink: an incident opens, updates or clears a
case; camera statuses), `operators` (the process's service tasks), `demo` (cameras in Buôn Ma Thuột).
"""
