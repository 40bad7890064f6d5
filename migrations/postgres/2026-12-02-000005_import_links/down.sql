DROP TABLE import_links;
