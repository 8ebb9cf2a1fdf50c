-- `voc_grafana`: the role of Grafana's PostgreSQL datasource. It may read the three tables the
-- CX dashboard needs (feedback_facts, score_rollups, score_slices) and nothing else: not
-- api_keys (the BI keys' hashed secrets), not the alerts tables, not a table a later migration
-- adds. So, unlike `voc_reader`, it gets no default privileges: its grants name the tables.
--
-- Run twice, both as the owner `voc` in POSTGRES_DB:
--   * by the postgres image on a fresh data volume (docker-entrypoint-initdb.d). The tables do
--     not exist yet (the migrate job creates them later): the role is created, no table granted;
--   * by docker-compose's `grafana-grants` job after every `migrate` run. The tables exist: the
--     grants are made. Also the way an existing volume (initialised before this file) gets the
--     role, and how a password change in POSTGRES_GRAFANA_PASSWORD reaches the database.
-- Idempotent; the table grants are replaced in one transaction, so Grafana never sees a gap.
\set ON_ERROR_STOP on
\getenv grafana_password POSTGRES_GRAFANA_PASSWORD
\if :{?grafana_password}
\else
\set grafana_password ''
\endif
SELECT :'grafana_password' = '' AS no_password \gset
\if :no_password
DO $$ BEGIN RAISE EXCEPTION 'POSTGRES_GRAFANA_PASSWORD is not set or empty'; END $$;
\endif

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'voc_grafana') AS create_role \gset
\if :create_role
CREATE ROLE voc_grafana LOGIN;
\endif
ALTER ROLE voc_grafana LOGIN PASSWORD :'grafana_password';
ALTER ROLE voc_grafana SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO voc_grafana;
GRANT USAGE ON SCHEMA public TO voc_grafana;

-- None of the three exists before the first migration; all do after it (were one missing, its
-- GRANT below would fail, naming it).
SELECT count(to_regclass(t)) > 0 AS migrated
FROM unnest(ARRAY['public.feedback_facts', 'public.score_rollups', 'public.score_slices']) AS t
\gset
BEGIN;
-- Whatever was granted before (by hand, or by an older version of this file) goes.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM voc_grafana;
\if :migrated
GRANT SELECT ON feedback_facts, score_rollups, score_slices TO voc_grafana;
\else
\echo 'voc_grafana: no tables yet (fresh volume); the grafana-grants job grants them after migrate'
\endif
COMMIT;
