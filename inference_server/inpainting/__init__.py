"""Hole filling by internal learning: a Deep Image Prior fitted to the one image, guided by its background."""
