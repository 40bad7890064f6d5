ALTER TABLE encounters DROP COLUMN credited_sources;
ALTER TABLE encounters DROP COLUMN line_sources;
