"""Leaders' PDF reports: report types and their data (catalog), periods, charts as Vega-Lite specs, and the
rendering to PDF in the layout of Vietnamese administrative documents (render). No Flask, no Celery: the web
app, a worker, the command line and the bench all call the same functions."""
