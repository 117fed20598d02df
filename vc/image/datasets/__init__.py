"""Offline image datasets and the builders that turn them into a recipe's data dir."""
