"""Customers ⇄ clients: the two-way phase (:mod:`.inbound`), the outbound clients flow (:mod:`.outbound`),
the field merge (:mod:`.merge`, :mod:`.fields`), conflicts (:mod:`.conflicts`) and the stale-token
policy the outbox consults for customer updates (:mod:`.stale`)."""
