DROP TABLE audit;
DROP TABLE exceptions;
DROP TABLE accounts;
DROP TABLE domains;
DROP TABLE sites;
DROP TABLE org_contacts;
DROP TABLE organizations;
