-- Where each billed line of an imported encounter came from, so a later feed message can
-- credit (reverse) one charge by the id its sender gave it (HL7 FT1-2 transaction id, FT1-23
-- filler order number). `line_sources` is a JSON array parallel to `lines`: per line, the
-- keyed hashes of those ids (never the ids themselves), or nulls for a line typed in by hand.
-- `credited_sources` holds the hashes of charges already credited, so a resent credit
-- changes nothing instead of being refused.
ALTER TABLE encounters ADD COLUMN line_sources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE encounters ADD COLUMN credited_sources TEXT NOT NULL DEFAULT '[]';
