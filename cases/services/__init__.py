"""Writes about cases, items and removal requests, split by concept.

- ``items``: referring URLs, approving them (four-eyes), holds.
- ``requests``: composing, approving, sending, the request state machine, the clock.
- ``outcomes``: recording an operator's answer per item.
"""
