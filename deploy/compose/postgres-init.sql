-- docker-compose.yml: one database per service (each owns its schema; the services migrate it at start).
CREATE DATABASE intake;
CREATE DATABASE gateway;
CREATE DATABASE supervision;
CREATE DATABASE "adapter-market";
CREATE DATABASE "adapter-tax";
CREATE DATABASE "adapter-fire";
