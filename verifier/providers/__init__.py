"""Wire profiles: how evidence is fetched and requests are carried (``native``; ``tinfoil`` later)."""
