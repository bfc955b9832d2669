"""The registry: people, programmes, cases and the outbox, with their services."""
