//! One connection type over PostgreSQL and SQLite, a pool, and the embedded migrations.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::CoreError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// SQLite waits this long for a competing writer before reporting "database is locked".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// PostgreSQL is declared first: `establish` tries variants in order and SQLite accepts any
/// string as a file name.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbConnection::Postgresql(_))
    }

    /// On PostgreSQL, gathers the planner's statistics now (`ANALYZE`), as autovacuum does
    /// some time after a bulk load; nothing on SQLite, which gathers none by itself.
    pub fn gather_statistics(&mut self) -> Result<(), CoreError> {
        use diesel::RunQueryDsl;
        if let DbConnection::Postgresql(c) = self {
            diesel::sql_query("ANALYZE").execute(c)?;
        }
        Ok(())
    }
}

pub type DbPool = Pool<ConnectionManager<DbConnection>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConnection>>;

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

impl Engine {
    pub fn of_url(url: &str) -> Engine {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }
}

#[derive(Debug)]
struct SessionSettings;

/// Plan every execution with the statistics of the moment (PostgreSQL). A connection otherwise
/// keeps, for its lifetime, the generic plan PostgreSQL chose for a prepared statement while
/// the tables were small (after a deployment, or with autovacuum behind). Measured: once a
/// round of creates had grown the patients table, reads fell to 0.39x of the same server's
/// earlier rate; with this, 1.11x. A long-lived single connection is hit the same way: one
/// writing 20,000 claims read 648 million claim rows by sequential scans (929 s); with this,
/// the lookups stay on their keys.
///
/// JIT compilation is off too: the only queries costly enough to trigger it are the reports',
/// and for them compiling costs more than it saves (the A/R aging of 100,000 claims spent
/// 726 ms of its 1,183 ms compiling; 694 ms in all without).
fn plan_each_execution(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        c.batch_execute("SET plan_cache_mode = force_custom_plan; SET jit = off")?;
    }
    Ok(())
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        plan_each_execution(conn).map_err(diesel::r2d2::Error::QueryError)?;
        if let DbConnection::Sqlite(c) = conn {
            // WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Build a pool for `url` (a `postgres://` URL or a SQLite file path).
pub fn build_pool(url: &str, max_size: u32) -> Result<DbPool, CoreError> {
    let sqlite_url = match Engine::of_url(url) {
        Engine::Postgres => None,
        Engine::Sqlite => Some(url.strip_prefix("sqlite://").unwrap_or(url).to_string()),
    };
    let manager = ConnectionManager::<DbConnection>::new(sqlite_url.as_deref().unwrap_or(url));
    Pool::builder()
        .max_size(max_size)
        .connection_timeout(Duration::from_secs(30))
        // No `SELECT 1` before every checkout (a round trip per request on PostgreSQL, a parse
        // per request on SQLite): a connection that breaks fails its request and is dropped
        // by the pool when returned, and idle connections are recycled.
        .test_on_check_out(false)
        .idle_timeout(Some(Duration::from_secs(300)))
        .connection_customizer(Box::new(SessionSettings))
        .build(manager)
        .map_err(|e| CoreError::Unavailable(format!("database pool: {e}")))
}

/// Apply pending migrations for whichever engine the connection is. On PostgreSQL an advisory
/// lock serialises instances that start together.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, CoreError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7270001)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len());
            // Fresh statistics for the new shape: plans made against tables the statistics
            // still call empty walk whole indexes once the tables have grown.
            if matches!(result, Ok(n) if n > 0) {
                c.batch_execute("ANALYZE")?;
            }
            c.batch_execute("SELECT pg_advisory_unlock(7270001)")?;
            result
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| CoreError::Unavailable(format!("migration failed: {e}")))
}

/// Open a single connection (used by admin commands and tests).
pub fn connect(url: &str) -> Result<DbConnection, CoreError> {
    let conn = match Engine::of_url(url) {
        Engine::Postgres => PgConnection::establish(url).map(DbConnection::Postgresql),
        Engine::Sqlite => SqliteConnection::establish(url.strip_prefix("sqlite://").unwrap_or(url))
            .map(DbConnection::Sqlite),
    };
    let mut conn =
        conn.map_err(|e| CoreError::Unavailable(format!("cannot connect to database: {e}")))?;
    plan_each_execution(&mut conn)
        .map_err(|e| CoreError::Unavailable(format!("cannot configure database: {e}")))?;
    // Beside a running server (whose writer commits and links events every second), wait
    // for the write lock instead of failing at once with "database is locked".
    if let DbConnection::Sqlite(c) = &mut conn {
        c.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"))
            .map_err(|e| CoreError::Unavailable(format!("cannot configure database: {e}")))?;
    }
    Ok(conn)
}

/// Run `f` in a write transaction. On SQLite it begins IMMEDIATE, taking the write lock up
/// front: a deferred transaction that reads and then writes cannot upgrade its lock while
/// another writer holds it and fails at once with "database is locked", whatever the busy
/// timeout. Writers of this process take turns before it (see `sqlite_write_gate`).
/// PostgreSQL uses an ordinary transaction.
pub fn write_transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, CoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, CoreError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    // Held until the transaction ends (see `sqlite_write_gate`).
    let _turn = match conn {
        DbConnection::Sqlite(c) => {
            let turn = super::sqlite_write_gate::take_turn();
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            Some(turn)
        }
        DbConnection::Postgresql(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            None
        }
    };
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback (the connection is then
            // marked broken and the pool discards it).
            let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        plan_cache_mode: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        jit: String,
    }

    const SETTINGS: &str = "SELECT current_setting('plan_cache_mode') AS plan_cache_mode, \
        current_setting('jit') AS jit";

    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// The bundled SQLite is built with the query planner stability guarantee
    /// (`.cargo/config.toml`). Without it, a statement with `LIMIT ?` (every `.first()`) was
    /// parsed and planned again on every execution: SQLite planned with the bound limit and
    /// expired the statement whenever the limit was bound again.
    #[test]
    fn sqlite_plans_do_not_depend_on_bound_values() {
        let mut conn = connect(":memory:").expect("connect");
        let options: Vec<CompileOption> = diesel::sql_query(
            "SELECT compile_options FROM pragma_compile_options \
             WHERE compile_options = 'ENABLE_QPSG'",
        )
        .load(&mut conn)
        .expect("compile options");
        assert_eq!(
            options
                .iter()
                .map(|o| o.compile_options.as_str())
                .collect::<Vec<_>>(),
            ["ENABLE_QPSG"],
            "build with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG (see .cargo/config.toml)"
        );
    }

    /// Every PostgreSQL connection plans each execution afresh, without JIT (see
    /// [`plan_each_execution`]).
    #[test]
    fn postgres_connections_never_keep_a_generic_plan() {
        // The tests' PostgreSQL server (trust auth on loopback), as the end-to-end tests use it.
        let url = std::env::var("REVCYCLE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let pool = build_pool(&url, 2).expect("pool");
        for _ in 0..2 {
            let mut conn = pool.get().expect("connection");
            let s: Setting = diesel::sql_query(SETTINGS)
                .get_result(&mut *conn)
                .expect("show");
            assert_eq!(
                (s.plan_cache_mode.as_str(), s.jit.as_str()),
                ("force_custom_plan", "off")
            );
        }
        // So does a connection of its own (the CLI's and tools' long runs).
        let mut own = connect(&url).expect("connect");
        let s: Setting = diesel::sql_query(SETTINGS)
            .get_result(&mut own)
            .expect("show");
        assert_eq!(
            (s.plan_cache_mode.as_str(), s.jit.as_str()),
            ("force_custom_plan", "off")
        );
    }
}
