"""FastAPI service that serves gold tables to department windows and analysts."""
