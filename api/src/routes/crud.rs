//! The four handlers a resource kept as versioned records has — create, list, read, replace —
//! written once. A resource states only what is its own: the handler's documentation and
//! `#[utoipa::path]` (its OpenAPI text), its route, its permission marker (`res::...`), its
//! types, and the repository call. A handler that does more than that (break-glass, work
//! items a change resolves) is written out in the resource's module instead.
//!
//! ```ignore
//! crud::read! {
//!     /// Read a provider
//!     #[utoipa::path(tag = "providers", params(("id" = Uuid, Path, description = "Provider id")),
//!         responses((status = 200, description = "The provider", body = Provider, headers(("ETag" = String)))))]
//!     fn get_provider("/providers/{id}", res::Provider)
//!         => |c, _keyring, org, id| providers::get(c, org, id)
//! }
//! ```
//!
//! The repository call is handed the connection, the key ring (for resources whose identifiers
//! are encrypted), the caller's organization and what the request carried: a closure, or the
//! repository function itself when it takes exactly that. The
//! handler's name is its OpenAPI operation id. The invoking module imports actix-web's route
//! attributes (`get`, `post`, `put`): utoipa recognises them by their bare names only.

use actix_web::HttpResponse;
use revcycle_core::access::{OrgId, Principal};
use revcycle_core::error::CoreResult;
use revcycle_core::model::Page;
use revcycle_core::store::{DbConnection, KeyRing, ListParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use revcycle_core::access::Mask;
use revcycle_core::audit::Discloses;

use crate::db::{self, Versioned};
use crate::extract::{IdempotencyKey, IfMatch, JsonBody};
use crate::problem::ApiResult;
use crate::request_audit::context::AuditCtx;
use crate::routes::page_query::PageQuery;
use crate::state::AppState;

/// `POST` to the collection: 201 with the record, its `Location` and `ETag`; an
/// `Idempotency-Key` replays the first answer.
pub async fn create_record<I, R>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    collection: &'static str,
    key: IdempotencyKey,
    body: JsonBody<I>,
    store: impl FnOnce(&mut DbConnection, &KeyRing, OrgId, I) -> CoreResult<R> + Send + 'static,
) -> ApiResult<HttpResponse>
where
    I: Send + 'static,
    R: Versioned + Mask + Discloses + DeserializeOwned + Send + 'static,
{
    let org = who.org;
    let keyring = state.keyring.clone();
    let input = body.value;
    db::create(state, who, audit, collection, key.0, body.hash, move |c| {
        store(c, &keyring, org, input)
    })
    .await
}

/// `GET` of the collection: a page of records, filtered by the query string.
pub async fn list_records<F, T>(
    state: &AppState,
    who: &Principal,
    page: PageQuery,
    filter: F,
    store: impl FnOnce(&mut DbConnection, &KeyRing, OrgId, &F, &ListParams) -> CoreResult<Page<T>>
    + Send
    + 'static,
) -> ApiResult<HttpResponse>
where
    F: Send + 'static,
    T: Send + 'static,
    Page<T>: Serialize + Mask + Discloses,
{
    let org = who.org;
    let keyring = state.keyring.clone();
    let page = page.params();
    let result = db::run(state, move |c| store(c, &keyring, org, &filter, &page)).await?;
    Ok(db::json(who, result))
}

/// `GET` of one record: 200 with it and its `ETag`.
pub async fn read_record<R>(
    state: &AppState,
    who: &Principal,
    id: Uuid,
    store: impl FnOnce(&mut DbConnection, &KeyRing, OrgId, Uuid) -> CoreResult<R> + Send + 'static,
) -> ApiResult<HttpResponse>
where
    R: Versioned + Mask + Discloses + Send + 'static,
{
    let org = who.org;
    let keyring = state.keyring.clone();
    let record = db::run(state, move |c| store(c, &keyring, org, id)).await?;
    Ok(db::ok(who, record))
}

/// `PUT` of one record, the whole of it, as a new version of the one `If-Match` names.
pub async fn replace_record<I, R>(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    id: Uuid,
    if_match: IfMatch,
    body: JsonBody<I>,
    store: impl FnOnce(&mut DbConnection, &KeyRing, OrgId, Uuid, i32, I) -> CoreResult<R>
    + Send
    + 'static,
) -> ApiResult<HttpResponse>
where
    I: Send + 'static,
    R: Versioned + Mask + Discloses + Send + 'static,
{
    let org = who.org;
    let keyring = state.keyring.clone();
    let input = body.value;
    db::update(state, who, audit, move |c| {
        store(c, &keyring, org, id, if_match.0, input)
    })
    .await
}

/// `POST` of a search body (identifiers never travel in URLs): every match, no cursor.
pub async fn search_records<Q, T>(
    state: &AppState,
    who: &Principal,
    query: Q,
    store: impl FnOnce(&mut DbConnection, &KeyRing, OrgId, &Q) -> CoreResult<Vec<T>> + Send + 'static,
) -> ApiResult<Vec<T>>
where
    Q: Send + 'static,
    T: Send + 'static,
{
    let org = who.org;
    let keyring = state.keyring.clone();
    db::run(state, move |c| store(c, &keyring, org, &query)).await
}

/// A create handler: `fn name("/collection", res::Marker, Input) => |c, keyring, org, input| ...`.
macro_rules! create {
    ($(#[$doc:meta])* fn $name:ident($path:literal, $resource:ty, $input:ty) => $store:expr) => {
        $(#[$doc])*
        #[post($path)]
        pub async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            $crate::authz::Authorized { who, audit, .. }: $crate::authz::Authorized<
                $resource,
                $crate::authz::act::Create,
            >,
            key: $crate::extract::IdempotencyKey,
            body: $crate::extract::JsonBody<$input>,
        ) -> $crate::problem::ApiResult<actix_web::HttpResponse> {
            // Every route is mounted under /v1 (`routes::configure`); Location is the full path.
            let collection = concat!("/v1", $path);
            $crate::routes::crud::create_record(&state, &who, audit, collection, key, body, $store).await
        }
    };
}

/// A list handler: `fn name("/collection", res::Marker, Filter) => |c, keyring, org, filter,
/// page| ...`, where `Filter` is the query string's parameters.
macro_rules! list {
    ($(#[$doc:meta])* fn $name:ident($path:literal, $resource:ty, $filter:ty) => $store:expr) => {
        $(#[$doc])*
        #[get($path)]
        pub async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            $crate::authz::Authorized { who, .. }: $crate::authz::Authorized<
                $resource,
                $crate::authz::act::Search,
            >,
            page: $crate::extract::Query<$crate::routes::page_query::PageQuery>,
            q: $crate::extract::Query<$filter>,
        ) -> $crate::problem::ApiResult<actix_web::HttpResponse> {
            let (page, filter) = (page.into_inner(), q.into_inner());
            $crate::routes::crud::list_records(&state, &who, page, filter, $store).await
        }
    };
}

/// A read handler: `fn name("/collection/{id}", res::Marker) => |c, keyring, org, id| ...`.
macro_rules! read {
    ($(#[$doc:meta])* fn $name:ident($path:literal, $resource:ty) => $store:expr) => {
        $(#[$doc])*
        #[get($path)]
        pub async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            $crate::authz::Authorized { who, .. }: $crate::authz::Authorized<
                $resource,
                $crate::authz::act::Read,
            >,
            id: actix_web::web::Path<uuid::Uuid>,
        ) -> $crate::problem::ApiResult<actix_web::HttpResponse> {
            $crate::routes::crud::read_record(&state, &who, id.into_inner(), $store).await
        }
    };
}

/// A replace handler: `fn name("/collection/{id}", res::Marker, Input) => |c, keyring, org,
/// id, version, input| ...`, where `version` is the one `If-Match` names.
macro_rules! replace {
    ($(#[$doc:meta])* fn $name:ident($path:literal, $resource:ty, $input:ty) => $store:expr) => {
        $(#[$doc])*
        #[put($path)]
        pub async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            $crate::authz::Authorized { who, audit, .. }: $crate::authz::Authorized<
                $resource,
                $crate::authz::act::Update,
            >,
            id: actix_web::web::Path<uuid::Uuid>,
            if_match: $crate::extract::IfMatch,
            body: $crate::extract::JsonBody<$input>,
        ) -> $crate::problem::ApiResult<actix_web::HttpResponse> {
            let id = id.into_inner();
            $crate::routes::crud::replace_record(&state, &who, audit, id, if_match, body, $store).await
        }
    };
}

/// A search handler and its answer: `fn name("/collection/search", res::Marker, Query) ->
/// Answer<Item> => |c, keyring, org, query| ...` declares `Answer { items: Vec<Item> }` too,
/// masked and disclosed as its items are.
macro_rules! search {
    ($(#[$doc:meta])* fn $name:ident($path:literal, $resource:ty, $query:ty)
        -> $answer:ident<$item:ty> => $store:expr) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $answer {
            pub items: Vec<$item>,
        }

        impl revcycle_core::access::Mask for $answer {
            fn mask(&mut self, view: &revcycle_core::access::View) {
                revcycle_core::access::Mask::mask(&mut self.items, view);
            }
        }

        impl revcycle_core::audit::Discloses for $answer {
            fn disclose(&self, d: &mut revcycle_core::audit::Disclosed) {
                revcycle_core::audit::Discloses::disclose(&self.items, d);
            }
        }

        $(#[$doc])*
        #[post($path)]
        pub async fn $name(
            state: actix_web::web::Data<$crate::state::AppState>,
            $crate::authz::Authorized { who, .. }: $crate::authz::Authorized<
                $resource,
                $crate::authz::act::Search,
            >,
            body: $crate::extract::JsonBody<$query>,
        ) -> $crate::problem::ApiResult<actix_web::HttpResponse> {
            let items = $crate::routes::crud::search_records(&state, &who, body.value, $store).await?;
            Ok($crate::db::json(&who, $answer { items }))
        }
    };
}

pub(crate) use {create, list, read, replace, search};
