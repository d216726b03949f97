"""A test-only app of the change follower's tests: a cascading reference, a signal log.

Installed only by ``tests.follow_settings`` (the follower processes the tests run).
"""
