-- Deliveries are made after the change commits, not in its transaction: a write stores its
-- event and queues its seq here; the deliverer takes queued events in batches (its own
-- transaction, one server at a time), makes their deliveries and removes them from the queue.
-- A queue of its own, not a flag on the event: marking an event would rewrite its row and
-- every index of the outbox, and leave PostgreSQL (without autovacuum) scanning dead entries.
-- No foreign key: the event is written just before, in the same transaction.
CREATE TABLE outbox_fan_out (
    seq INTEGER PRIMARY KEY NOT NULL
);
