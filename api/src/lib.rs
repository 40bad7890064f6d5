//! revcycle-api: the actix-web application and the `revcycle` command line.

pub mod audit_checkpoints;
pub mod audit_trail_commands;
pub mod auth;
pub mod authz;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod db;
pub mod extract;
pub mod files;
pub mod html;
pub mod jobs;
pub mod letter_pdf;
pub mod limits;
pub mod openapi;
pub mod pdf;
pub mod problem;
pub mod request_audit;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod startup_error;
pub mod state;
pub mod statement_pdf;
pub mod tls;
pub mod webhooks;
