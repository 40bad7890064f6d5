//! Databases for tests: a SQLite file in the test's temp dir, or a new PostgreSQL database
//! that is dropped afterwards.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// PostgreSQL server the tests use (trust auth on loopback); override with REVCYCLE_TEST_PG.
pub fn pg_admin_url() -> String {
    std::env::var("REVCYCLE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];
}

/// Refuses a PostgreSQL database when the run leaves PostgreSQL out (`REVCYCLE_TEST_ENGINES=sqlite`,
/// set by `./test` when no server answers): the test fails saying why rather than pass
/// without having run. The `sqlite-only` profile in `.config/nextest.toml` lists the tests
/// that need PostgreSQL, so they are skipped before they get here.
fn check_postgres_wanted() {
    if let Ok(engines) = std::env::var("REVCYCLE_TEST_ENGINES")
        && engines == "sqlite"
    {
        panic!(
            "this test needs PostgreSQL, which this run leaves out \
             (REVCYCLE_TEST_ENGINES=sqlite); list it in the sqlite-only profile of \
             .config/nextest.toml"
        );
    }
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn new(engine: Engine, dir: &Path) -> TestDb {
        match engine {
            Engine::Sqlite => TestDb {
                url: dir.join("test.db").to_string_lossy().into_owned(),
                pg_name: None,
                _dir: None,
            },
            Engine::Postgres => {
                check_postgres_wanted();
                let name = format!("revcycle_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::establish(&pg_admin_url())
                    .expect("connect to the test PostgreSQL server");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = pg_admin_url();
                let url = match base.rfind('/') {
                    Some(i) => format!("{}/{name}", &base[..i]),
                    None => panic!("bad REVCYCLE_TEST_PG"),
                };
                TestDb {
                    url,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) = PgConnection::establish(&pg_admin_url())
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
