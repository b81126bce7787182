"""Bring your own model: reading the files, validating them into a network, keeping them per machine."""
