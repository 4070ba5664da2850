"""Shared fixtures of the infra-gen tests; the golden trees are data, never collected as tests."""

from __future__ import annotations

collect_ignore = ["golden"]
