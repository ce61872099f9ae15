"""OpenTelemetry (OTLP/HTTP) traces as logs: one trace = one ticket run = one log.

decode.py turns an ExportTraceServiceRequest into plain span dicts, spans.py turns each into the
entry a log's payload stores, assemble.py builds one raw log body from the entries of one trace, and
ingest.py feeds those bodies through the same validation, redaction, writer and counters as
POST /api/v1/logs. No FastAPI here: api/routes_otlp.py is the front door."""
