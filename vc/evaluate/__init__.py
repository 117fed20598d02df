"""Objective evaluation of converted speech."""
