"""Persistence behind protocols."""
