"""Hotline 12345 backend: FastAPI service, AMI consumer, FastAGI server, domains."""
