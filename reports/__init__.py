"""Leaders' PDF reports (WeasyPrint) — come with the reports issue."""
