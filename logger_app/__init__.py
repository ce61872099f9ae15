"""Central Logger: a self-hosted log collector and dashboard for AI-agent workflows."""

__version__ = "0.1.0"
