"""Cluster mode: several Hiroba nodes joined by Redis (docs/cluster.md)."""
