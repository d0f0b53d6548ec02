ALTER TABLE observations DROP COLUMN schema;
DROP TABLE instances;
DROP TABLE work;
