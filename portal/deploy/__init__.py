"""Deployment files: gunicorn config and systemd units (see README, "Deployment")."""
