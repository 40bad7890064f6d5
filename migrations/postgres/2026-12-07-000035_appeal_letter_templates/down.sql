DROP TABLE appeal_letter_templates;
