-- Run once by the postgres image when it initialises an empty data volume (as POSTGRES_USER, in
-- POSTGRES_DB). Creates `voc_reader`, the read-only role of the api service (Grafana has its
-- own, narrower role: 20-grafana-role.sql). The tables do not exist yet (the migrate job creates
-- them as `voc`), so SELECT is granted through default privileges on the tables voc creates
-- later: the api reads every table, api_keys and the alerts tables included.
\getenv reader_password POSTGRES_READER_PASSWORD
CREATE ROLE voc_reader LOGIN PASSWORD :'reader_password';
ALTER ROLE voc_reader SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"DBNAME" TO voc_reader;
GRANT USAGE ON SCHEMA public TO voc_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO voc_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO voc_reader;
