"""PIPL: export and erasure of everything held about one person."""
