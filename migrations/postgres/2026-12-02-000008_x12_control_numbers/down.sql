DROP TABLE x12_control_numbers;
