//! The bus between the gateway and the services: NATS request-reply.
//!
//! Each service registers with the NATS service API (so `$SRV.PING`, `$SRV.INFO` and
//! `$SRV.STATS` answer) and listens on `<namespace>.rpc.<service>.<endpoint>` in the queue
//! group `q`, so N replicas share the work. A call carries its context in headers
//! (actor, correlation id, request id, the position a query must wait for, W3C trace
//! context) and a JSON body; the reply is a [`Reply`]: a value with the position of the
//! event it wrote, or a [`Problem`].
//!
//! Payloads stay small: NATS refuses messages over 1 MB. Files, exports and imports go
//! through the blob store and travel on the bus only as references (see ARCHITECTURE.md).

mod client;
mod server;

pub use client::BusClient;
pub use server::{Endpoint, Handler, Incoming, ServiceHandle, ServiceSpec, serve};

use event_store::Position;
use problem::Problem;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Header: who is calling (`operator:bootstrap`, `member:<id>`…).
pub const ACTOR: &str = "Tsunagu-Actor";
/// Header: the correlation id shared by everything one request causes.
pub const CORRELATION_ID: &str = "Tsunagu-Correlation-Id";
/// Header: the gateway's request id.
pub const REQUEST_ID: &str = "Tsunagu-Request-Id";
/// Header: a query must not answer before its projection reached this position.
pub const MIN_POSITION: &str = "Tsunagu-Min-Position";
/// Header: the verified caller (JSON of [`permissions::Caller`]), set by the gateway.
pub const CALLER: &str = "Tsunagu-Caller";
/// Header: the client's address as the gateway's connection saw it (access records name it).
pub const CLIENT_ADDRESS: &str = "Tsunagu-Client-Address";

/// The largest body the bus carries; NATS' default `max_payload` is 1 MB.
pub const MAX_BODY: usize = 512 * 1024;

/// Who asks, and in which request: travels with every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallContext {
    /// The caller.
    pub actor: String,
    /// Correlates the events this call causes.
    pub correlation_id: Uuid,
    /// The gateway's request id, for logs.
    pub request_id: String,
    /// Read-your-writes: wait until the answering projection reached this position.
    pub min_position: Option<Position>,
    /// The signed-in member, when the request came with an access token.
    pub caller: Option<permissions::Caller>,
    /// The client's address, when the call comes from an HTTP request.
    pub client_address: Option<String>,
}

impl CallContext {
    /// A context for a caller with fresh ids.
    pub fn new(actor: impl Into<String>) -> Self {
        let id = Uuid::now_v7();
        Self {
            actor: actor.into(),
            correlation_id: id,
            request_id: id.to_string(),
            min_position: None,
            caller: None,
            client_address: None,
        }
    }

    /// Names the client's address (from the gateway's connection).
    pub fn from_address(mut self, address: Option<std::net::IpAddr>) -> Self {
        self.client_address = address.map(|a| a.to_string());
        self
    }

    /// Names the signed-in member the call is made for.
    pub fn for_caller(mut self, caller: permissions::Caller) -> Self {
        self.caller = Some(caller);
        self
    }

    /// Asks the query to wait for `position`.
    pub fn after(mut self, position: Option<Position>) -> Self {
        self.min_position = position;
        self
    }
}

/// A service's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Reply {
    /// It worked.
    Ok {
        /// The answer.
        value: serde_json::Value,
        /// Where the event written by a command is stored; a later query can wait for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<Position>,
    },
    /// It did not.
    Problem(Problem),
}

impl Reply {
    /// A successful answer with no position.
    pub fn value(value: impl Serialize) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => Self::Ok {
                value,
                position: None,
            },
            Err(_) => Self::Problem(Problem::internal()),
        }
    }

    /// A successful command: its answer and the position of its event.
    pub fn written(value: impl Serialize, position: Position) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => Self::Ok {
                value,
                position: Some(position),
            },
            Err(_) => Self::Problem(Problem::internal()),
        }
    }
}

impl From<Problem> for Reply {
    fn from(p: Problem) -> Self {
        Self::Problem(p)
    }
}

/// The subject of one endpoint.
pub fn subject(namespace: &str, service: &str, endpoint: &str) -> String {
    format!("{namespace}.rpc.{service}.{endpoint}")
}

/// How a binary reaches NATS, read once from the environment:
/// `TSUNAGU_NATS_URL` (default `nats://127.0.0.1:4222`), `TSUNAGU_NAMESPACE` (default
/// `tsunagu`), `TSUNAGU_STREAM_REPLICAS` (default 1).
#[derive(Debug, Clone)]
pub struct NatsSettings {
    /// Server URL(s), comma-separated for a cluster.
    pub url: String,
    /// Root of every subject and stream name.
    pub namespace: String,
    /// Stream replicas.
    pub replicas: usize,
}

impl NatsSettings {
    /// Reads the settings; a bad value is an error naming the variable.
    pub fn from_env() -> Result<Self, String> {
        let url = std::env::var("TSUNAGU_NATS_URL")
            .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
        let namespace = std::env::var("TSUNAGU_NAMESPACE").unwrap_or_else(|_| "tsunagu".to_owned());
        if event_store::validate_token(&namespace).is_err() {
            return Err(format!(
                "TSUNAGU_NAMESPACE must be letters, digits, - and _, got {namespace:?}"
            ));
        }
        let replicas = match std::env::var("TSUNAGU_STREAM_REPLICAS") {
            Ok(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=5).contains(n))
                .ok_or_else(|| format!("TSUNAGU_STREAM_REPLICAS must be 1 to 5, got {v:?}"))?,
            Err(_) => 1,
        };
        Ok(Self {
            url,
            namespace,
            replicas,
        })
    }

    /// Connects, retrying for up to 30 s so services may start before NATS is up. Returns
    /// only once connected, so the server's version is known (the store checks it).
    pub async fn connect(
        &self,
        name: &str,
    ) -> Result<async_nats::Client, async_nats::ConnectError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut pause = std::time::Duration::from_millis(100);
        loop {
            match async_nats::ConnectOptions::new()
                .name(name)
                .connect(self.url.as_str())
                .await
            {
                Ok(client) => return Ok(client),
                Err(e) if std::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, url = %self.url, "nats not reachable yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(2));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The event store on this connection.
    pub fn store(
        &self,
        client: async_nats::Client,
    ) -> Result<event_store::JetStreamStore, event_store::StoreError> {
        event_store::JetStreamStore::new(
            client,
            event_store::StoreConfig {
                namespace: self.namespace.clone(),
                replicas: self.replicas,
                ..Default::default()
            },
        )
    }
}
