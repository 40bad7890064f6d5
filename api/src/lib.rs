//! revcycle-api: the actix-web application and the `revcycle` command line.

pub mod audit;
pub mod audit_cli;
pub mod auth;
pub mod authz;
pub mod checkpoints;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod db;
pub mod extract;
pub mod files;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tls;
