//! Importing an EHR feed through a plugin: the plugin translates the feed into canonical
//! records, each is applied through `core`, and the plugin acknowledges what was applied. The
//! import route and the MLLP listener both run feeds through here.

use actix_web::web;
use revcycle_connector_abi::canonical::{
    ACKNOWLEDGE_OPERATION, AcknowledgeOutput, ImportIssue, ImportResult,
};
use revcycle_connector_abi::ffi::ConnectorKind;
use revcycle_core::audit::Disclosed;
use revcycle_core::error::CoreError;
use revcycle_core::model::event::{EventData, ImportCompleted};
use serde::Serialize;
use utoipa::ToSchema;

use crate::connectors::import::{ImportCounts, Importer, RecordResult, RecordStatus, counts};
use crate::connectors::{State, acknowledge, invoke};
use crate::problem::{ApiError, ApiResult};
use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// A plugin issue, as the plugin reported it (positions and rules, never values).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedIssue {
    /// Where in the feed (entry index, line or message number, as the plugin counts).
    pub position: Option<u64>,
    pub code: String,
    pub message: String,
}

impl From<ImportIssue> for FeedIssue {
    fn from(i: ImportIssue) -> Self {
        FeedIssue {
            position: i.position,
            code: i.code,
            message: i.message,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"import_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a10", "connector": "fhir-r4", "counts": {"created": 5, "updated": 0, "unchanged": 0, "rejected": 1},
    "records": [{"index": 0, "type": "patient", "status": "created", "id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a01", "reason": null},
                {"index": 4, "type": "encounter", "status": "rejected", "id": null,
                 "reason": "/billing_provider_npi: no provider with this NPI is set up (POST /v1/providers)"}],
    "issues": [], "acks": null}))]
pub struct ImportReport {
    /// This import run: the `import_id` of its `import.completed` event.
    pub import_id: uuid::Uuid,
    pub connector: String,
    pub counts: ImportCounts,
    /// One result per canonical record, in the plugin's order.
    pub records: Vec<RecordResult>,
    /// What the plugin could not translate.
    pub issues: Vec<FeedIssue>,
    /// HL7 v2: the acknowledgment of each message (AA/AE/AR) built by the plugin from what
    /// was applied (the same ACKs MLLP sends): `position`, `control_id`, `message_type`,
    /// `acknowledgment_code`, `ack` (the ACK message) and `records` (each record of the
    /// message: `type`, `segment`, `index` into `records` or null when the plugin refused it,
    /// `status`, `reason`, `errors` as ERR segments).
    #[schema(value_type = Option<Object>)]
    pub acks: Option<serde_json::Value>,
}

/// Runs a feed through an EHR plugin and applies its records (shared with the MLLP listener).
pub async fn run_import(
    state: &web::Data<AppState>,
    name: &str,
    audit: AuditCtx,
    org: revcycle_core::access::OrgId,
    body: Vec<u8>,
) -> ApiResult<(ImportReport, Disclosed)> {
    let connector = state
        .connectors
        .get(name)
        .ok_or(ApiError::Core(CoreError::NotFound {
            resource: "connector",
        }))?;
    let (instance, acknowledges) = match &connector.state {
        State::Loaded {
            kind: ConnectorKind::Ehr,
            operations,
            instance,
            ..
        } if operations.iter().any(|o| o == "import") => (
            instance.clone(),
            operations.iter().any(|o| o == ACKNOWLEDGE_OPERATION),
        ),
        State::Loaded { .. } => {
            return Err(ApiError::Core(CoreError::Conflict(
                "this connector does not import EHR feeds".into(),
            )));
        }
        State::Refused { .. } => {
            return Err(ApiError::Core(CoreError::Unavailable(
                "this connector was refused at start; see GET /v1/connectors".into(),
            )));
        }
    };
    let out = invoke(instance.clone(), "import", body, state.connectors.timeout).await?;
    let raw: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|_| ApiError::BadGateway("the connector's output is not JSON".into()))?;
    let mut acks = raw.get("acks").cloned();
    let result: ImportResult = serde_json::from_value(raw).map_err(|_| {
        ApiError::BadGateway("the connector's output is not a canonical import result".into())
    })?;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let records = result.records;
    let import_id = uuid::Uuid::now_v7();
    let connector_name = name.to_string();
    let issue_count = result.issues.len();
    let (results, disclosed) = web::block(move || {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let keys = keyring.keys(&mut conn, org)?;
        let importer = Importer {
            keyring: &keyring,
            keys: &keys,
            org,
            audit: &audit,
            today: chrono::Utc::now().date_naive(),
        };
        let mut disclosed = Disclosed::default();
        let results = importer.apply(&mut conn, &records, &mut disclosed);
        let c = counts(&results);
        // After the records committed: a failure here fails the request, and resending the
        // feed changes nothing and announces it again.
        revcycle_core::workflows::events::announce(
            &mut conn,
            org,
            &EventData::ImportCompleted(ImportCompleted {
                import_id,
                connector: connector_name,
                created: c.created,
                updated: c.updated,
                unchanged: c.unchanged,
                rejected: c.rejected,
                issues: issue_count,
            }),
        )?;
        let written = results
            .iter()
            .filter(|r| matches!(r.status, RecordStatus::Created | RecordStatus::Updated))
            .count();
        if written >= revcycle_core::store::BULK_ANALYZE_ROWS
            && let Err(e) = revcycle_core::store::refresh_import_statistics(&mut conn)
        {
            // The import is committed; stale statistics only cost speed until the next one.
            tracing::warn!(error = %e, "planner statistics were not refreshed after an import");
        }
        Ok::<_, CoreError>((results, disclosed))
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    // The plugin's acknowledgments say what was applied, not what was translated. Should the
    // plugin fail here, no acknowledgment is given (the records are applied; a sender that
    // resends changes nothing) rather than one that could be wrong.
    if let Some(context) = result.ack_context.filter(|_| acknowledges) {
        let input = serde_json::to_vec(&acknowledge::input(context, &results))
            .map_err(|_| ApiError::Internal)?;
        acks = match invoke(
            instance,
            ACKNOWLEDGE_OPERATION,
            input,
            state.connectors.timeout,
        )
        .await
        .and_then(|out| {
            serde_json::from_slice::<AcknowledgeOutput>(&out).map_err(|_| {
                ApiError::BadGateway("the connector's acknowledgments are not JSON".into())
            })
        }) {
            Ok(out) => Some(serde_json::Value::Array(out.acks)),
            Err(e) => {
                tracing::error!(connector = name, error = %e, "connector could not acknowledge the feed");
                None
            }
        };
    }
    Ok((
        ImportReport {
            import_id,
            connector: name.to_string(),
            counts: counts(&results),
            records: results,
            issues: result.issues.into_iter().map(FeedIssue::from).collect(),
            acks,
        },
        disclosed,
    ))
}
