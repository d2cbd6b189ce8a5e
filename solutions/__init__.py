"""Reference implementations: the plain, obviously correct version of each kata."""
