-- db-autopilot's own PostgreSQL role: the least it needs, never the master user.
-- Run once per instance as the master user (rds_superuser on RDS), then in every database
-- db-autopilot maintains run the per-database part at the end.
--
--   psql "host=... dbname=postgres user=postgres sslmode=verify-full" -f db_autopilot_role.sql
--
-- What each grant is for:
--   rds_iam      log in with an IAM auth token (RDS only; skip it when using a Secrets Manager secret)
--   pg_monitor   read pg_stat_* / pg_stat_activity of all sessions / pg_stat_statements text
--   pg_maintain  (PostgreSQL 17+) VACUUM and ANALYZE every table without owning it
-- Before PostgreSQL 17 only a table's owner (or the database owner, or a superuser) may vacuum
-- it: either run maintenance as the owning role, or make db_autopilot a member of the role that
-- owns the tables (GRANT app_owner TO db_autopilot). `doctor` says which tables it cannot vacuum.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'db_autopilot') THEN
    CREATE ROLE db_autopilot WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
      CONNECTION LIMIT 10;
  END IF;
END
$$;

-- Sessions of db-autopilot never hang: the runner sets tighter values per statement.
ALTER ROLE db_autopilot SET statement_timeout = '15min';
ALTER ROLE db_autopilot SET lock_timeout = '5s';
ALTER ROLE db_autopilot SET idle_in_transaction_session_timeout = '1min';

GRANT pg_monitor TO db_autopilot;

DO $$
BEGIN
  -- IAM database authentication (RDS / Aurora only).
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
    EXECUTE 'GRANT rds_iam TO db_autopilot';
  END IF;
  -- PostgreSQL 17+: the MAINTAIN privilege on every table through pg_maintain.
  IF current_setting('server_version_num')::int >= 170000 THEN
    EXECUTE 'GRANT pg_maintain TO db_autopilot';
  END IF;
END
$$;

-- Per database (connect to each maintained database and run):
--   GRANT CONNECT ON DATABASE orders TO db_autopilot;
--   CREATE EXTENSION IF NOT EXISTS pg_stat_statements;   -- insights: slow queries
--   CREATE EXTENSION IF NOT EXISTS pgstattuple;          -- optional: exact bloat checks (pgstatindex for index rebuilds)
--   GRANT EXECUTE ON FUNCTION pgstattuple(regclass) TO db_autopilot;
--   GRANT EXECUTE ON FUNCTION pgstatindex(regclass) TO db_autopilot;
--   CREATE EXTENSION IF NOT EXISTS hypopg;               -- index advice (hypothetical indexes; RDS and Aurora ship it)
-- REINDEX INDEX CONCURRENTLY and CREATE INDEX CONCURRENTLY need the table's owner (membership in
-- the owning role) before PostgreSQL 17, or MAINTAIN (pg_maintain) for REINDEX on 17+; runs skip
-- (and report) the indexes they may not rebuild or create instead of failing on them.
-- Index advice plans slow statements with EXPLAIN, which needs SELECT on the tables they read:
--   GRANT SELECT ON ALL TABLES IN SCHEMA public TO db_autopilot;   -- or, PostgreSQL 14+: GRANT pg_read_all_data TO db_autopilot;
-- Without it those statements are left out of the advice and the run says which tables to grant.
