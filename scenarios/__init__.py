"""Scenario files, installed as package data."""
