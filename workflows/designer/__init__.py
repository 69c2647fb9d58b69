"""The process designer's services: the library of definitions, drafts, checks on imported files,
comparisons, test runs in a sandbox, replays of decision tables and migrations of running instances."""
