DROP TABLE denial_events;
DROP TABLE denial_notes;
DROP TABLE denials;
