"""PySpark jobs: pure DataFrame transforms plus the thin read/write edges that run them."""
