-- The runs table keeps its wider CHECK: a rebuild back would only lose
-- the reconcile runs' history.
DROP TABLE reconcile_runs;
