"""Thin per-resource routers under /v1: parse the request, call one service function, return its view."""
