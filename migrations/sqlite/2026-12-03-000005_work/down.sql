DROP TABLE instances;
DROP TABLE work;
