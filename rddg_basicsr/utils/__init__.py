"""Helpers shared by the plugin's modules."""
