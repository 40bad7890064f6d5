//! Databases for the store's unit tests: an in-memory SQLite database, or a PostgreSQL
//! database of the test's own on the tests' server, created with the schema and dropped
//! afterwards.
//!
//! A test that should hold on both engines takes a [`TestEngine`] and is listed in
//! [`on_each_engine!`], which makes one test per engine (`name::sqlite`, `name::postgres`).
//! The PostgreSQL server is the one `./test` uses: `REVCYCLE_TEST_PG`, else
//! `postgres://postgres@127.0.0.1:5432/postgres` (trust auth). A run that leaves PostgreSQL
//! out (`REVCYCLE_TEST_ENGINES=sqlite`) skips the `postgres` tests by name (the sqlite-only
//! profile in `.config/nextest.toml`); one that gets here anyway fails, saying why.

use std::sync::Arc;

use diesel::connection::SimpleConnection;

use super::{DbConnection, KeyRing, connect, orgs, run_migrations};
use crate::access::OrgId;
use crate::phi::LocalMasterKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestEngine {
    Sqlite,
    Postgres,
}

/// One test per engine for each test function named (each takes a [`TestEngine`]): the
/// module `name` with the tests `name::sqlite` and `name::postgres`.
macro_rules! on_each_engine {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::store::testing::TestEngine::Sqlite)
            }

            #[test]
            fn postgres() {
                super::$name($crate::store::testing::TestEngine::Postgres)
            }
        }
    )*};
}
pub(crate) use on_each_engine;

/// The PostgreSQL server's admin URL.
fn pg_admin_url() -> String {
    std::env::var("REVCYCLE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A test's database; a PostgreSQL one is dropped with it. Keep it alive for the whole test
/// (bind it to `_db`, not `_`).
pub struct TestDb {
    pg_name: Option<String>,
}

impl TestDb {
    /// A second connection to a PostgreSQL test database (as another server would hold);
    /// `None` on SQLite, whose test databases live in their one connection's memory.
    pub fn another_connection(&self) -> Option<DbConnection> {
        let name = self.pg_name.as_ref()?;
        let admin_url = pg_admin_url();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Some(connect(&format!("{base}/{name}")).expect("connect to the test database again"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) = connect(&pg_admin_url())
        {
            // FORCE: the test's own connection may still be open when this runs.
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A new database on `engine` with the schema, and a connection to it.
pub fn database(engine: TestEngine) -> (TestDb, DbConnection) {
    let (db, url) = match engine {
        TestEngine::Sqlite => (TestDb { pg_name: None }, ":memory:".to_string()),
        TestEngine::Postgres => {
            if std::env::var("REVCYCLE_TEST_ENGINES").is_ok_and(|e| e == "sqlite") {
                panic!(
                    "this test needs PostgreSQL, which this run leaves out \
                     (REVCYCLE_TEST_ENGINES=sqlite); name it `postgres` so that the \
                     sqlite-only profile of .config/nextest.toml skips it"
                );
            }
            let name = format!("revcycle_core_test_{}", uuid::Uuid::now_v7().simple());
            let admin_url = pg_admin_url();
            let mut admin = connect(&admin_url).expect("connect to the test PostgreSQL server");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create the test database");
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(base, _)| base);
            let url = format!("{base}/{name}");
            (
                TestDb {
                    pg_name: Some(name),
                },
                url,
            )
        }
    };
    let mut conn = connect(&url).expect("connect to the test database");
    run_migrations(&mut conn).expect("migrations");
    (db, conn)
}

/// A database on `engine` with the schema, a key ring and one org.
pub fn setup_on(engine: TestEngine) -> (TestDb, DbConnection, KeyRing, OrgId) {
    let (db, mut conn) = database(engine);
    let keyring = KeyRing::new(Arc::new(LocalMasterKey::generate()));
    let org = orgs::create(&mut conn, &keyring, "Test org").expect("org");
    (db, conn, keyring, OrgId(org.id))
}

/// For tests of one repository alone, whose rows point to rows the test leaves out (claims,
/// payers, postings): references are not enforced for this connection.
pub fn without_references(conn: &mut DbConnection) {
    match conn {
        DbConnection::Sqlite(c) => c.batch_execute("PRAGMA foreign_keys = OFF").unwrap(),
        DbConnection::Postgresql(c) => c
            .batch_execute("SET session_replication_role = replica")
            .unwrap(),
    }
}

/// An in-memory SQLite database with the schema, a key ring and one org.
pub fn setup() -> (DbConnection, KeyRing, OrgId) {
    let (_sqlite, conn, keyring, org) = setup_on(TestEngine::Sqlite);
    (conn, keyring, org)
}
