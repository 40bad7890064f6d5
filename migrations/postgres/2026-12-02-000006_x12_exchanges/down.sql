DROP TABLE x12_exchanges;
