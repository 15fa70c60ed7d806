"""Data contracts compiled into what enforces them: Spark schemas, row rules and GX suites."""
