"""``qbosync`` subcommands, one module per feature; each defines ``register(subparsers)``."""
