-- docker-compose.yml: one database per service (each owns its schema; the services migrate it at start),
-- and the intermediate database (中间库) of a department of the database kind, which its adapter and its
-- system share. Run when the postgres-data volume is first made: on an older volume, create the new ones.
CREATE DATABASE intake;
CREATE DATABASE gateway;
CREATE DATABASE supervision;
CREATE DATABASE "adapter-market";
CREATE DATABASE "adapter-tax";
CREATE DATABASE "adapter-fire";
CREATE DATABASE "adapter-urban";
CREATE DATABASE "adapter-traffic";
CREATE DATABASE "interface-tax";
CREATE DATABASE "ferry-fire";
