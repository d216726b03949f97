"""Changes between services: the outbox, the feed that serves it, the follower that reads it.

- ``models``: the outbox (``ChangeEvent``), the feed's pruning horizon and the
  follower's cursors;
- ``triggers``: the database triggers that write the outbox in the same
  transaction as the change (PostgreSQL and SQLite), installed by ``migrate``;
- ``feed``: events in a safe order, by cursor, and pruning.
"""
