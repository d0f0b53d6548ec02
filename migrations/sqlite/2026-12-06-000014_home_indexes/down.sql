DROP INDEX accounts_quiet;
DROP INDEX findings_status_kind;
DROP INDEX sites_status_kind_org;
DROP INDEX runs_job_id;
