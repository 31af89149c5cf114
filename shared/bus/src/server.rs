use std::collections::HashMap;
use std::sync::Arc;

use async_nats::service::ServiceExt;
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use problem::Problem;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::{Instrument, info_span};
use uuid::Uuid;

use crate::{
    ACTOR, CALLER, CLIENT_ADDRESS, CORRELATION_ID, CallContext, MIN_POSITION, REQUEST_ID, Reply,
};

/// One request as a handler sees it.
#[derive(Debug)]
pub struct Incoming {
    /// Who asks and in which request.
    pub ctx: CallContext,
    /// The JSON body.
    pub body: Bytes,
}

impl Incoming {
    /// Reads the body as `T`; a body that does not fit is the caller's fault (400),
    /// naming the field by JSON pointer.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        problem::parse_json(&self.body)
    }
}

/// Handles one endpoint's requests.
pub type Handler = Arc<dyn Fn(Incoming) -> BoxFuture<'static, Reply> + Send + Sync>;

/// One endpoint of a service.
pub struct Endpoint {
    /// Its name, the last token of its subject.
    pub name: &'static str,
    /// What answers it.
    pub handler: Handler,
}

/// A service as the NATS service API announces it.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// Its name (letters, digits, `-`, `_`).
    pub name: &'static str,
    /// Its version (semver).
    pub version: &'static str,
    /// What it does.
    pub description: &'static str,
    /// The namespace its subjects live in.
    pub namespace: String,
    /// How many requests one replica handles at once.
    pub concurrency: usize,
}

/// A running service; stops answering when dropped or stopped.
pub struct ServiceHandle {
    service: async_nats::service::Service,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ServiceHandle {
    /// Stops answering (in-flight requests finish).
    pub async fn stop(self) {
        let _ = self.service.stop().await;
        for t in self.tasks {
            t.abort();
        }
    }
}

fn context_of(headers: Option<&async_nats::HeaderMap>) -> CallContext {
    let get = |name: &str| {
        headers
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let correlation_id = get(CORRELATION_ID)
        .and_then(|v| v.parse::<Uuid>().ok())
        .unwrap_or_else(Uuid::now_v7);
    CallContext {
        actor: get(ACTOR).unwrap_or_else(|| "anonymous".to_owned()),
        correlation_id,
        request_id: get(REQUEST_ID).unwrap_or_else(|| correlation_id.to_string()),
        min_position: get(MIN_POSITION).and_then(|v| v.parse().ok()),
        caller: get(CALLER).and_then(|v| serde_json::from_str(&v).ok()),
        client_address: get(CLIENT_ADDRESS),
    }
}

/// Registers `spec` with the NATS service API and answers its endpoints until stopped.
pub async fn serve(
    client: async_nats::Client,
    spec: ServiceSpec,
    endpoints: Vec<Endpoint>,
) -> Result<ServiceHandle, async_nats::Error> {
    let service = client
        .service_builder()
        .description(spec.description)
        .queue_group("q")
        .metadata(HashMap::from([(
            "namespace".to_owned(),
            spec.namespace.clone(),
        )]))
        .start(spec.name, spec.version)
        .await?;
    let group = service.group(format!("{}.rpc.{}", spec.namespace, spec.name));
    let limit = Arc::new(Semaphore::new(spec.concurrency.max(1)));
    let mut tasks = Vec::new();
    for endpoint in endpoints {
        let mut requests = group.endpoint(endpoint.name).await?;
        let handler = endpoint.handler.clone();
        let limit = limit.clone();
        let service_name = spec.name;
        let name = endpoint.name;
        tasks.push(tokio::spawn(async move {
            while let Some(request) = requests.next().await {
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    break;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let headers = request.message.headers.as_ref();
                    let ctx = context_of(headers);
                    let span = info_span!("bus.handle", service = service_name, endpoint = name, request_id = %ctx.request_id);
                    telemetry::extract_from(headers, &span);
                    let incoming = Incoming {
                        ctx,
                        body: request.message.payload.clone(),
                    };
                    let reply = handler(incoming).instrument(span).await;
                    let body = serde_json::to_vec(&reply)
                        .unwrap_or_else(|_| br#"{"outcome":"problem","type":"https://tsunagu.example/problems/internal","title":"Internal error","status":500}"#.to_vec());
                    if let Err(error) = request.respond(Ok(body.into())).await {
                        tracing::warn!(%error, endpoint = name, "could not send reply");
                    }
                    drop(permit);
                });
            }
        }));
    }
    Ok(ServiceHandle { service, tasks })
}
