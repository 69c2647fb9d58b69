"""Monitoring: socio-economic indicators and alerts from other systems, which open cases when they break rules.

`fields` (the ten monitoring services), `periods` (monthly, quarterly, yearly and year-to-date periods),
`models` (the catalogue, the values with their history, the rules' memory, alert sources and alerts);
`catalogue`, `ingest`, `rules`, `evaluation`, `alerts` and `views` are the services over them.
"""
