-- The deliverer looks only at pending deliveries, oldest event first, and asks whether an
-- earlier event of the same record still waits. Indexes over pending rows alone stay as
-- small as the backlog (delivered rows pile up forever), and the first one hands rows out in
-- event order, so a round stops after its batch instead of sorting the whole backlog.
DROP INDEX event_deliveries_due;
DROP INDEX event_deliveries_order;
CREATE INDEX event_deliveries_pending ON event_deliveries (event_seq) WHERE state = 'pending';
CREATE INDEX event_deliveries_pending_order
    ON event_deliveries (subscription_id, resource_key, event_seq) WHERE state = 'pending';
