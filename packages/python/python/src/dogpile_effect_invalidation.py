"""Shared region invalidation for dogpile.cache regions that share a Redis
cache with dogpile-effect (TypeScript) services.

dogpile-effect keeps a region's invalidation marks in two Redis keys, as
epoch milliseconds in decimal text:

    __dogpile__:{<region name>}:invalidated:hard
    __dogpile__:{<region name>}:invalidated:soft

Values created before the hard mark are misses; values created before the
soft mark are stale (one caller regenerates, the others get the old value).
This strategy makes a Python region honour those marks, and makes
``region.invalidate()`` set them, so an invalidation on either side reaches
the other within ``refresh`` seconds (the invalidating process sees it at
once).

Usage (the region name must be the TypeScript region's ``name``)::

    import redis
    from dogpile.cache import make_region
    from dogpile_effect_invalidation import SharedInvalidation

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    region = make_region(serializer=..., deserializer=...).configure(
        "dogpile.cache.redis",
        expiration_time=600,
        arguments={"url": "redis://127.0.0.1:6379/0", "distributed_lock": True, "thread_local_lock": False},
        region_invalidator=SharedInvalidation(client, "users"),
    )

dogpile.cache needs an ``expiration_time`` to serve soft-invalidated values
as stale. A region without one should pass ``soft_as_hard=True``: soft marks
then count as hard ones (misses) instead of making ``get_or_create`` raise.

Tested with dogpile.cache 1.1.8 and 1.5.0, redis-py 4.3 (packages/python/test), installed
from this directory's pyproject.toml (``pip install ./packages/python/python``).
"""

import time

from dogpile.cache.region import RegionInvalidationStrategy

__all__ = ["SharedInvalidation", "mark_keys"]


def mark_keys(region_name):
    """The Redis keys of a region's hard and soft marks."""
    prefix = "__dogpile__:{%s}:invalidated:" % region_name
    return prefix + "hard", prefix + "soft"


def _millis(raw):
    try:
        value = float(raw) if raw is not None else 0.0
    except ValueError:
        return 0.0
    return value if value > 0 else 0.0


class SharedInvalidation(RegionInvalidationStrategy):
    """Region invalidation through dogpile-effect's shared marks.

    :param client: a redis-py client of the shared server.
    :param region_name: the region's name on the TypeScript side.
    :param refresh: seconds a read of the marks is reused (default 1, as in
     dogpile-effect); 0 reads them on every check.
    :param soft_as_hard: treat soft marks as hard, for regions without an
     ``expiration_time``.
    """

    def __init__(self, client, region_name, refresh=1.0, soft_as_hard=False):
        self.client = client
        self.hard_key, self.soft_key = mark_keys(region_name)
        self.refresh = refresh
        self.soft_as_hard = soft_as_hard
        self._hard = 0.0
        self._soft = 0.0
        self._read_at = None

    def _marks(self):
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self.refresh:
            hard, soft = self.client.mget([self.hard_key, self.soft_key])
            # Never move a mark backwards (a local invalidation may be newer).
            self._hard = max(self._hard, _millis(hard))
            self._soft = max(self._soft, _millis(soft))
            self._read_at = now
        return self._hard, self._soft

    def invalidate(self, hard=True):
        now = int(time.time() * 1000)
        self.client.set(self.hard_key if hard else self.soft_key, str(now))
        if hard:
            self._hard = max(self._hard, now)
        else:
            self._soft = max(self._soft, now)

    def is_hard_invalidated(self, timestamp):
        hard, soft = self._marks()
        created = timestamp * 1000
        return created < hard or (self.soft_as_hard and created < soft)

    def is_soft_invalidated(self, timestamp):
        if self.soft_as_hard:
            return False
        hard, soft = self._marks()
        return timestamp * 1000 < soft

    def is_invalidated(self, timestamp):
        return self.is_hard_invalidated(timestamp) or self.is_soft_invalidated(timestamp)

    def was_hard_invalidated(self):
        hard, soft = self._marks()
        return hard > 0 or (self.soft_as_hard and soft > 0)

    def was_soft_invalidated(self):
        return not self.soft_as_hard and self._marks()[1] > 0
