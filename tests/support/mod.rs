//! Test support: start the real `revcycle` binary against a fresh database (SQLite in a temp
//! dir, or a new PostgreSQL database that is dropped afterwards) and talk HTTP to it.
//!
//! - [`db`]: the test databases and engines;
//! - [`plugins`]: the `revcycle` binary and the connector plugins, built on demand;
//! - [`server`]: server processes (start, restart, second instances, admin commands);
//! - [`client`]: HTTP requests and responses;
//! - [`kms`]: a local AWS KMS (moto).

use std::time::{Duration, Instant};

pub mod client;
pub mod db;
pub mod kms;
pub mod plugins;
pub mod server;

pub use client::{Resp, http_client};
pub use db::{Engine, TestDb, pg_admin_url};
pub use kms::{MOTO, Moto};
pub use plugins::{PLUGINS, plugin_library, revcycle_bin};
pub use revcycle_pytools::{python_tool, target_dir};
pub use server::{Instance, Server};

/// Wait until `f` returns true or the deadline passes.
pub fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
