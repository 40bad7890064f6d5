//! Building the application: first-run bootstrap, the actix `App`, TLS and the server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Logger, from_fn};
use actix_web::{App, HttpMessage, HttpResponse, web};
use revcycle_core::access::{OrgId, Role};
use revcycle_core::phi::{AwsKms, KeyWrapper, LocalMasterKey};
use revcycle_core::store::{self, DbPool, KeyRing, orgs};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::{DevSigner, JwksSettings, JwksVerifier, Verifier};
use crate::config::{AuthMode, Config, MASTER_KEY_ENV, MasterKeySource};
use crate::files;
use crate::problem::ApiError;
use crate::request_id::{REQUEST_ID, RequestId};
// Commands name it with the runtime they open.
pub use crate::startup_error::StartupError;
use crate::state::AppState;

pub const SIGNING_KEY_FILE: &str = "token-signing.key";
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// The development admin token written on first run lasts this long.
const ADMIN_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;

/// Everything a command needs: database pool (migrated), key ring and token signer.
pub struct Runtime {
    pub config: Config,
    pub pool: DbPool,
    pub keyring: Arc<KeyRing>,
    pub signer: Arc<DevSigner>,
    /// How the server checks tokens (jwks mode: keys not loaded until [`JwksVerifier::load`]).
    pub verifier: Verifier,
}

/// What a first run on an empty database set up.
pub enum FirstRun {
    /// Development mode: the new organization's admin token, in this file.
    AdminToken(PathBuf),
    /// Production mode: the new organization, for whom the identity provider issues tokens.
    Organization(uuid::Uuid),
}

fn master_key(config: &Config) -> Result<Arc<dyn KeyWrapper>, StartupError> {
    key_wrapper(&config.master_key)
}

/// The key wrapper for a master key source (also the destination of `keys rewrap`).
pub fn key_wrapper(source: &MasterKeySource) -> Result<Arc<dyn KeyWrapper>, StartupError> {
    match source {
        MasterKeySource::Env => Ok(Arc::new(LocalMasterKey::from_env(MASTER_KEY_ENV)?)),
        MasterKeySource::File(path) => {
            let (key, created) = LocalMasterKey::load_or_create(path)?;
            if created {
                tracing::info!(path = %path.display(), "created a new master key (mode 0600); back it up: without it the data cannot be decrypted");
            }
            Ok(Arc::new(key))
        }
        MasterKeySource::AwsKms(kms) => {
            let kms = AwsKms::connect(kms)?;
            tracing::info!(key = %kms.key_arn(), "master key held by AWS KMS");
            Ok(Arc::new(kms))
        }
    }
}

/// Open (creating on first run) the data directory, keys and database, and apply migrations.
pub fn open(config: Config) -> Result<Runtime, StartupError> {
    files::ensure_private_dir(&config.data_dir)?;
    let wrapper = master_key(&config)?;
    let signer = Arc::new(DevSigner::load_or_create(
        &config.data_dir.join(SIGNING_KEY_FILE),
    )?);
    let pool = store::build_pool(&config.database_url, config.pool_size)?;
    let mut conn = pool
        .get()
        .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
    let applied = store::run_migrations(&mut conn)?;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    store::keyring::check_master_key(&mut conn, wrapper.as_ref())?;
    let verifier = match config.auth_mode {
        AuthMode::Dev => Verifier::Dev(signer.clone()),
        AuthMode::Jwks => Verifier::Jwks(Arc::new(
            JwksSettings::from_config(&config)
                .and_then(JwksVerifier::new)
                .map_err(StartupError::Refused)?,
        )),
    };
    Ok(Runtime {
        config,
        pool,
        keyring: Arc::new(KeyRing::new(wrapper)),
        signer,
        verifier,
    })
}

impl Runtime {
    /// On a fresh database, create a first organization and, in development mode, write an
    /// admin token for it, so a newcomer can call the API at once. In jwks mode tokens come from
    /// the identity provider, which needs the organization's id for the `org` claim.
    pub fn bootstrap(&self) -> Result<Option<FirstRun>, StartupError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
        if !orgs::list(&mut conn)?.is_empty() {
            return Ok(None);
        }
        let org = orgs::create(&mut conn, &self.keyring, "Development organization")?;
        if self.config.auth_mode == AuthMode::Jwks {
            tracing::info!(org = %org.id, "created the first organization");
            return Ok(Some(FirstRun::Organization(org.id)));
        }
        let token = self.signer.issue(crate::auth::Grant {
            sub: "dev-admin",
            org: org.id,
            roles: &[Role::Admin],
            ttl_secs: ADMIN_TOKEN_TTL_SECS,
            scope: None,
            client_id: None,
            purpose_of_use: None,
        });
        let path = self.config.data_dir.join(ADMIN_TOKEN_FILE);
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        files::write_private(&path, format!("{token}\n").as_bytes())?;
        tracing::info!(org = %org.id, path = %path.display(), "created the first organization and an admin token");
        Ok(Some(FirstRun::AdminToken(path)))
    }

    pub fn state(&self) -> Result<AppState, StartupError> {
        let connectors = match &self.config.connectors {
            Some(path) => crate::connectors::Connectors::load(
                path,
                std::time::Duration::from_secs(self.config.connector_timeout_secs),
                &self.pool,
            )?,
            None => crate::connectors::Connectors::default(),
        };
        let audit = audit_writer(
            &self.config.database_url,
            std::time::Duration::from_secs(self.config.audit_refusal_window_secs),
            self.config.audit_writers,
        )?;
        if audit.enabled() {
            revcycle_core::store::audit_intake::spawn_sequencer(
                self.pool.clone(),
                std::time::Duration::from_millis(self.config.audit_sequence_interval_ms),
            )?;
        }
        let checkpoints = Arc::new(crate::audit_checkpoints::Checkpointer::open(
            &self.config.audit_checkpoints,
        )?);
        let treed = !untreed_benchmark();
        if audit.enabled() && treed {
            crate::jobs::audit_checkpoints::spawn(
                self.pool.clone(),
                checkpoints.clone(),
                self.config.audit_checkpoints.every_events,
                self.config.audit_checkpoints.every_secs,
            );
        }
        Ok(AppState {
            checkpoints,
            connectors: Arc::new(connectors),
            pool: self.pool.clone(),
            keyring: self.keyring.clone(),
            verifier: self.verifier.clone(),
            body_limit: self.config.body_limit,
            audit,
            rate_limiter: crate::limits::RateLimiter::new(
                self.config.rate_limit_per_second,
                self.config.rate_limit_burst,
                self.config.max_requests_per_source,
                self.config.trusted_proxies.clone(),
            ),
            read_timeout: std::time::Duration::from_secs(self.config.read_timeout_secs),
            body_timeout: std::time::Duration::from_secs(self.config.body_timeout_secs),
            orgs: Arc::new(crate::auth::OrgCache::default()),
            audit_retention: self.config.audit_retention,
            events: Arc::new(self.config.events.clone()),
        })
    }

    pub fn org_exists(&self, org: OrgId) -> Result<bool, StartupError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| revcycle_core::error::CoreError::Unavailable(e.to_string()))?;
        Ok(orgs::find(&mut conn, org.0)?.is_some())
    }
}

/// Environment variable that switches auditing off, honoured only by builds with the
/// `unaudited-benchmark` feature (to measure what auditing costs); release builds ignore it.
pub const UNAUDITED_ENV: &str = "REVCYCLE_UNAUDITED_BENCHMARK";

/// Environment variable that switches the audit trail's Merkle tree and checkpoints off,
/// honoured only by builds with the `unaudited-benchmark` feature (to measure their share of
/// the audit cost); release builds ignore it.
pub const UNTREED_ENV: &str = "REVCYCLE_UNTREED_BENCHMARK";

/// Whether this is a benchmark server auditing without the tree (see [`UNTREED_ENV`]); it
/// switches the tree off for the process when so.
fn untreed_benchmark() -> bool {
    let off =
        cfg!(feature = "unaudited-benchmark") && std::env::var(UNTREED_ENV).is_ok_and(|v| v == "1");
    if off {
        tracing::warn!(
            "AUDIT TREE IS OFF: benchmark build, {UNTREED_ENV}=1; no checkpoint is made"
        );
        revcycle_core::store::audit_tree::set_maintained(false);
    }
    off
}

fn audit_writer(
    database_url: &str,
    refusal_window: std::time::Duration,
    writers: Option<usize>,
) -> Result<Arc<crate::request_audit::writer::AuditWriter>, StartupError> {
    if cfg!(feature = "unaudited-benchmark") && std::env::var(UNAUDITED_ENV).is_ok_and(|v| v == "1")
    {
        tracing::warn!(
            "AUDITING IS OFF: benchmark build, {UNAUDITED_ENV}=1; never serve PHI like this"
        );
        return Ok(crate::request_audit::writer::AuditWriter::disabled());
    }
    Ok(crate::request_audit::writer::AuditWriter::start(
        database_url,
        refusal_window,
        writers,
    )?)
}

/// The routes with their collected OpenAPI document.
pub fn routes_and_doc() -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    OpenApiDoc,
) {
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(crate::openapi::ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    (app, crate::openapi::finish(doc))
}

/// The document exactly as the server serves it, pretty-printed with a trailing newline.
pub fn document_json() -> String {
    let (_, doc) = routes_and_doc();
    let mut s = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    s.push('\n');
    s
}

fn path_error(_: actix_web::error::PathError, req: &actix_web::HttpRequest) -> actix_web::Error {
    // `PUT /v1/claims/submit` reaches `PUT /v1/claims/{id}`; the path is a route of its own
    // that does not take this method.
    if let Some(routes) = req.app_data::<web::Data<RouteTable>>()
        && let Some(allowed) = routes.literal_methods_of(req.path())
        && !allowed.contains(&req.method().as_str())
    {
        return ApiError::MethodNotAllowed(allowed).into();
    }
    // A malformed id cannot name anything: same answer as an unknown one.
    ApiError::Core(revcycle_core::error::CoreError::NotFound {
        resource: "resource",
    })
    .into()
}

/// What every worker's app serves from the OpenAPI document, made once at start and shared:
/// the document as JSON and the table of documented routes. Each worker used to keep a copy of
/// the document's structures (megabytes each) only to serialize it on request.
#[derive(Clone)]
pub struct Documented {
    json: web::Data<OpenApiJson>,
    routes: web::Data<RouteTable>,
}

/// The OpenAPI document serialized once, as `GET /openapi.json` answers it.
struct OpenApiJson(web::Bytes);

impl Documented {
    pub fn of(doc: &OpenApiDoc) -> Documented {
        let json = serde_json::to_vec(doc).expect("the OpenAPI document serialises");
        Documented {
            json: web::Data::new(OpenApiJson(web::Bytes::from(json))),
            routes: web::Data::new(RouteTable::of(doc)),
        }
    }
}

async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(header::ContentType::json())
        .body(doc.0.clone())
}

/// How long after the start the memory it used is handed back: by then every worker has built
/// its app (each builds the routes and, with them, a throwaway OpenAPI document).
const STARTUP_SETTLED: std::time::Duration = std::time::Duration::from_secs(3);

/// The most malloc arenas the server's threads share. glibc gives a thread that meets
/// contention an arena of its own, up to eight per core, and each arena keeps what is freed
/// into it. Measured through the audit benchmark on SQLite (2 cores, 16 and 64 connections,
/// one run each, 2026-12-07): peak resident 127 MB audited and 119 MB unaudited with glibc's
/// default, 98 and 98 MB with two arenas, throughput within the runs' noise.
const MALLOC_ARENAS: i32 = 2;

/// Caps the allocator's arenas (see [`MALLOC_ARENAS`]); `MALLOC_ARENA_MAX` in the environment,
/// which glibc reads itself, still decides when set. Call before any thread starts.
pub fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt changes an allocator setting; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// Hands the memory freed since the start back to the system. The allocator keeps freed memory
/// in per-thread arenas for reuse; what the start-up alone needed (documents built per worker,
/// the code set's parse) would otherwise count in the server's resident size for its lifetime.
/// Measured on an idle server: 84 MB resident before, 48 MB after; peak through the audit
/// benchmark on SQLite 93 MB, against 126 MB before this and the shared document.
pub async fn release_startup_memory() {
    tokio::time::sleep(STARTUP_SETTLED).await;
    // SAFETY: glibc's malloc_trim takes each arena's lock itself; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The complete application for one worker.
pub fn app(
    state: web::Data<AppState>,
    documented: Documented,
    tls: bool,
    bench_routes: bool,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, _) = routes_and_doc();
    let limiter = state.rate_limiter.clone();
    let verifier = state.verifier.clone();
    let mut headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Responses carry PHI: no shared or private cache may keep them.
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // The documentation page is the only HTML we serve, from our own bundled assets; it
        // needs inline styles and scripts of its own and nothing from elsewhere.
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .add((header::REFERRER_POLICY, "no-referrer"));
    if tls {
        headers = headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    app.app_data(state)
        .app_data(documented.routes)
        .app_data(web::PathConfig::default().error_handler(path_error))
        .service(
            web::resource("/openapi.json")
                .app_data(documented.json)
                .route(web::get().to(openapi_json)),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").config(SwaggerConfig::new(["/openapi.json"])))
        .configure(|cfg| {
            if bench_routes {
                cfg.route("/_bench/static", web::get().to(bench_static));
            }
        })
        .default_service(web::to(
            |req: actix_web::HttpRequest, routes: web::Data<RouteTable>| async move {
                match routes.methods_of(req.path()) {
                    Some(allowed) => Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allowed)),
                    None => Err(ApiError::NotFoundRoute),
                }
            },
        ))
        // Inside the rate limiter: a flood of refused requests does not flood the trail.
        .wrap(from_fn(crate::request_audit::middleware::middleware))
        .wrap(from_fn(move |req, next| {
            crate::limits::rate_limit(limiter.clone(), verifier.clone(), req, next)
        }))
        .wrap(headers)
        // Path only (%U): a query string could carry something a client should not have sent.
        .wrap(
            Logger::new("%{r}a %{METHOD}xi %U %s %Dms rid=%{x-request-id}o")
                .custom_request_replace("METHOD", |req| req.method().to_string()),
        )
        .wrap_fn(|req, srv| {
            use actix_web::dev::Service;
            let rid = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .filter(|v| {
                    !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic())
                })
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            req.extensions_mut().insert(RequestId(rid.clone()));
            let fut = srv.call(req);
            async move {
                let mut res = fut.await?;
                if let Ok(v) = HeaderValue::from_str(&rid) {
                    res.headers_mut()
                        .insert(HeaderName::from_static(REQUEST_ID), v);
                }
                Ok(res)
            }
        })
}

/// The documented paths and their methods, for the answers to requests no route took: 405
/// with `Allow` when the path exists under other methods, else 404.
pub struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    fn of(doc: &OpenApiDoc) -> RouteTable {
        let mut paths = Vec::new();
        for (path, item) in &doc.paths.paths {
            let segments = path.split('/').map(str::to_string).collect();
            let mut methods = Vec::new();
            for (method, op) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
            ] {
                if op.is_some() {
                    methods.push(method);
                }
            }
            if methods.contains(&"GET") {
                methods.push("HEAD");
            }
            paths.push((segments, methods));
        }
        // The spec and the documentation page, served outside the document.
        paths.push((
            vec![String::new(), "openapi.json".into()],
            vec!["GET", "HEAD"],
        ));
        RouteTable(paths)
    }

    /// The methods of the documented path `path` falls under, taking the most specific
    /// template as the router does (`/v1/claims/submit` before `/v1/claims/{id}`).
    pub fn methods_of(&self, path: &str) -> Option<Vec<&'static str>> {
        self.most_specific(path).map(|(_, methods)| methods)
    }

    /// Like [`RouteTable::methods_of`], but only for a path that names no parameter: a
    /// literal route such as `/v1/claims/submit`, which another method may reach through a
    /// parameterised route and fail to parse as an id.
    pub fn literal_methods_of(&self, path: &str) -> Option<Vec<&'static str>> {
        self.most_specific(path)
            .filter(|(params, _)| *params == 0)
            .map(|(_, methods)| methods)
    }

    fn most_specific(&self, path: &str) -> Option<(usize, Vec<&'static str>)> {
        if path == "/docs" || path.starts_with("/docs/") {
            return Some((0, vec!["GET", "HEAD"]));
        }
        let wanted: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, Vec<&'static str>)> = None;
        for (segments, methods) in &self.0 {
            if segments.len() != wanted.len() {
                continue;
            }
            let mut params = 0;
            let matches = segments.iter().zip(&wanted).all(|(s, w)| {
                if s == w {
                    true
                } else if s.starts_with('{') && s.ends_with('}') && !w.is_empty() {
                    params += 1;
                    true
                } else {
                    false
                }
            });
            if !matches {
                continue;
            }
            match &mut best {
                Some((p, m)) if *p == params => {
                    for method in methods {
                        if !m.contains(method) {
                            m.push(method);
                        }
                    }
                }
                Some((p, _)) if *p < params => {}
                _ => best = Some((params, methods.clone())),
            }
        }
        best
    }
}

#[derive(serde::Deserialize)]
struct BenchQuery {
    bytes: usize,
}

/// The benchmark ceiling: a JSON document of the requested size, with no database, no crypto
/// and no authentication. Registered only when REVCYCLE_BENCH_ROUTES=1; not part of the API.
async fn bench_static(q: web::Query<BenchQuery>) -> HttpResponse {
    let pad = q.bytes.saturating_sub(10).min(1 << 20);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(format!("{{\"pad\":\"{}\"}}", "x".repeat(pad)))
}

/// TLS material: given PEM files, or a development certificate generated on first use.
pub fn tls_config(
    cert: Option<&Path>,
    key: Option<&Path>,
    data_dir: &Path,
) -> Result<rustls::ServerConfig, StartupError> {
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        (None, None) => crate::tls::ensure_dev_certificate(data_dir)?,
        _ => {
            return Err(StartupError::Refused(
                "--tls-cert and --tls-key go together".into(),
            ));
        }
    };
    crate::tls::server_config(&cert_path, &key_path)
}
