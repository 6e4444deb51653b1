"""Helpers shared by the resource routers."""
