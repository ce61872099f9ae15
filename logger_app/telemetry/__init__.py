"""The logger's own monitoring: Prometheus metrics (metrics.py) and JSON server logs (jsonlog.py)."""
