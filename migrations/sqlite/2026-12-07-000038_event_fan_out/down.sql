DROP TABLE outbox_fan_out;
