//! The HL7 v2 MLLP listener (`serve --mllp 127.0.0.1:2575`): each framed message goes through
//! the configured HL7 connector and is applied like `POST /v1/connectors/{name}/import`; the
//! plugin's ACK (AA/AE/AR) goes back framed on the same connection. MLLP carries no
//! credentials, so the listener acts for one configured organization with the
//! `ehr_integration` role, accepts only loopback addresses (put a TLS tunnel or VPN in front),
//! and every message is audited with the peer's address.

use std::net::SocketAddr;

use actix_web::web;
use revcycle_connector_abi::mllp::{Deframer, frame};
use revcycle_core::access::{OrgId, Principal, Role};
use revcycle_core::audit::{Disclosed, Outcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::request_audit::context::AuditCtx;
use crate::state::AppState;

/// Where and for whom the listener works.
#[derive(Debug, Clone)]
pub struct MllpSettings {
    pub bind: SocketAddr,
    pub connector: String,
    pub org: OrgId,
    /// How long a started frame may take to finish.
    pub frame_timeout: std::time::Duration,
}

pub async fn listen(settings: MllpSettings, state: web::Data<AppState>) -> std::io::Result<()> {
    let listener = TcpListener::bind(settings.bind).await?;
    // Tests and scripts read this line to learn the port when asked for port 0.
    eprintln!("revcycle: mllp listening on {}", listener.local_addr()?);
    loop {
        let (stream, peer) = listener.accept().await?;
        let settings = settings.clone();
        let state = state.clone();
        actix_web::rt::spawn(async move {
            if let Err(e) = connection(stream, peer, settings, state).await {
                tracing::warn!(%peer, error = %e, "mllp connection ended with an error");
            }
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    settings: MllpSettings,
    state: web::Data<AppState>,
) -> std::io::Result<()> {
    let who = Principal {
        subject: format!("mllp:{peer}"),
        org: settings.org,
        roles: vec![Role::EhrIntegration],
        client_id: Some(format!("mllp/{}", settings.connector)),
        scopes: None,
        purpose_of_use: None,
        break_glass_reason: None,
    };
    let mut deframer = Deframer::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Between frames a connection may idle (senders keep theirs open); inside a frame the
        // sender must go on, or a frame never finished would hold the connection for ever.
        let n = if deframer.in_frame() {
            match tokio::time::timeout(settings.frame_timeout, stream.read(&mut buf)).await {
                Ok(read) => read?,
                Err(_) => {
                    tracing::warn!(%peer, "mllp: a frame was not finished in time; closing");
                    return Ok(());
                }
            }
        } else {
            stream.read(&mut buf).await?
        };
        if n == 0 {
            return Ok(());
        }
        deframer.push(&buf[..n]);
        while let Some(message) = deframer.pop() {
            let request_id = uuid::Uuid::now_v7().to_string();
            let audit = AuditCtx::for_channel(
                state.audit.enabled(),
                &who,
                "import",
                "Connector",
                request_id,
                Some(peer.ip().to_string()),
            );
            let outcome = crate::connectors::ehr_feed::run_import(
                &state,
                &settings.connector,
                audit.clone(),
                settings.org,
                message.clone(),
            )
            .await;
            let (acks, event) = match outcome {
                Ok((report, disclosed)) => {
                    let acks: Vec<String> = report
                        .acks
                        .as_ref()
                        .and_then(|a| a.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x["ack"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    (acks, audit.event(Outcome::Success, 200, &disclosed))
                }
                Err(e) => {
                    tracing::error!(%peer, error = %e, "mllp message could not be imported");
                    (
                        vec![reject(&message)],
                        audit.event(Outcome::Failed, e.problem().status, &Disclosed::default()),
                    )
                }
            };
            // The ACK says the message was taken: only once its audit event is durable.
            if state.audit.record(vec![event]).await.is_err() {
                tracing::error!(%peer, "mllp: the audit trail is down; closing without an ACK");
                return Ok(());
            }
            for ack in acks {
                stream.write_all(&frame(ack.as_bytes())).await?;
            }
        }
    }
}

/// An AR acknowledgment for a message the connector could not process at all, naming its
/// control id (MSH-10) when it can be found.
fn reject(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let msh = text.split(['\r', '\n']).find(|s| s.starts_with("MSH"));
    let control_id = msh
        .and_then(|m| {
            let sep = m.chars().nth(3)?;
            m.split(sep).nth(9).map(str::to_string)
        })
        .unwrap_or_default();
    let now = chrono::Utc::now().format("%Y%m%d%H%M%S");
    format!(
        "MSH|^~\\&|REVCYCLE||||{now}||ACK|ACK{control_id}|P|2.5.1\rMSA|AR|{control_id}\rERR|||207^Application internal error^HL70357|E\r"
    )
}
