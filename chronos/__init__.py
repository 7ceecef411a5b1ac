"""Chronos: real-estate transaction coordination."""
