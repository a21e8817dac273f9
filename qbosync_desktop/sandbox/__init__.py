"""Embedded practice servers: a local QuickBooks Online v3 + OAuth 2 server and a Work demo server.

They exist because nothing in this project may reach the real QuickBooks: practice mode, the tests,
the benchmarks and the reliability drills all run against these servers. They import nothing from the
app's connectors, engine or store (see docs/architecture.md); each keeps its own storage.
"""
