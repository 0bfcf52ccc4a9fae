"""Shipped mapping files (package data), installed as ``okrsync.mappings``."""
