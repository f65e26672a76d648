"""The `tapescan` command line: one small module per command, no logic beyond parsing and printing."""
