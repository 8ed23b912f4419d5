-- PostgreSQL hardening for a CONTINUUM database. Run as a superuser (or the database owner)
-- once the server has applied its migrations:
--   psql "$ADMIN_URL" -v dbname=continuum -v app_role=continuum \
--        -v reader_password="$(openssl rand -hex 24)" -f infra/postgres/hardening.sql
-- Afterwards: PUBLIC can neither connect nor create; `continuum_readonly` (a group) may read
-- every table, now and later, and never write; `continuum_reader` logs in with it (for
-- reporting, exports, read replicas' consumers). SSL settings: postgresql-hardening.conf.
\set ON_ERROR_STOP on

REVOKE ALL ON DATABASE :"dbname" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"app_role";
GRANT USAGE, CREATE ON SCHEMA public TO :"app_role";

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'continuum_readonly') AS create_group \gset
\if :create_group
CREATE ROLE continuum_readonly NOLOGIN;
\endif
ALTER ROLE continuum_readonly SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE :"dbname" TO continuum_readonly;
GRANT USAGE ON SCHEMA public TO continuum_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO continuum_readonly;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO continuum_readonly;
-- Tables the application creates later (new migrations) are readable too.
ALTER DEFAULT PRIVILEGES FOR ROLE :"app_role" IN SCHEMA public GRANT SELECT ON TABLES TO continuum_readonly;
ALTER DEFAULT PRIVILEGES FOR ROLE :"app_role" IN SCHEMA public GRANT SELECT ON SEQUENCES TO continuum_readonly;

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'continuum_reader') AS create_reader \gset
\if :create_reader
CREATE ROLE continuum_reader LOGIN IN ROLE continuum_readonly;
\endif
ALTER ROLE continuum_reader PASSWORD :'reader_password';
ALTER ROLE continuum_reader SET default_transaction_read_only = on;
ALTER ROLE continuum_reader CONNECTION LIMIT 10;
