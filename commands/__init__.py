"""Flask command groups, one module per group; cli.register attaches them to the app."""
