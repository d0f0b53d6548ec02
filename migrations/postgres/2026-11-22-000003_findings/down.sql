DROP TABLE runs;
DROP TABLE discovered_hosts;
DROP TABLE findings;
