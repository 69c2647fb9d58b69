"""Camera incident detection (OpenCV) — comes with the camera-channel issue."""
