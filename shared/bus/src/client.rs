use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::client::RequestErrorKind;
use problem::Problem;
use serde::Serialize;
use tracing::instrument;

use crate::{
    ACTOR, CALLER, CLIENT_ADDRESS, CORRELATION_ID, CallContext, MAX_BODY, MIN_POSITION, REQUEST_ID,
    Reply,
};

/// Calls services over the bus.
#[derive(Clone, Debug)]
pub struct BusClient {
    client: async_nats::Client,
    namespace: String,
    timeout: Duration,
}

impl BusClient {
    /// A caller in `namespace` that gives up after `timeout`.
    pub fn new(
        client: async_nats::Client,
        namespace: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            timeout,
        }
    }

    /// The NATS client underneath.
    pub fn nats(&self) -> &async_nats::Client {
        &self.client
    }

    /// Asks `service`'s `endpoint` and reads its answer as `A`; its problem comes back as is
    /// (a refusal stays the refusal the other service gave), an answer that does not read is a
    /// 500 logged with the endpoint.
    pub async fn ask<Q: Serialize, A: serde::de::DeserializeOwned>(
        &self,
        service: &str,
        endpoint: &str,
        ctx: &CallContext,
        question: &Q,
    ) -> Result<A, Problem> {
        match self.call(service, endpoint, ctx, question).await {
            Reply::Ok { value, .. } => serde_json::from_value(value).map_err(|e| {
                tracing::error!(error = %e, service, endpoint, "an answer that does not read");
                Problem::internal()
            }),
            Reply::Problem(p) => Err(p),
        }
    }

    /// Sends `body` to `service`'s `endpoint` and returns its reply. Transport failures
    /// become problems: no responder → 503, no answer in time → 504.
    #[instrument(skip(self, ctx, body), fields(request_id = %ctx.request_id))]
    pub async fn call<B: Serialize>(
        &self,
        service: &str,
        endpoint: &str,
        ctx: &CallContext,
        body: &B,
    ) -> Reply {
        let payload = match serde_json::to_vec(body) {
            Ok(p) if p.len() <= MAX_BODY => p,
            Ok(_) => return Reply::Problem(Problem::payload_too_large(MAX_BODY)),
            Err(_) => return Reply::Problem(Problem::internal()),
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACTOR, ctx.actor.as_str());
        headers.insert(CORRELATION_ID, ctx.correlation_id.to_string().as_str());
        headers.insert(REQUEST_ID, ctx.request_id.as_str());
        if let Some(p) = &ctx.min_position {
            headers.insert(MIN_POSITION, p.to_string().as_str());
        }
        if let Some(caller) = ctx
            .caller
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok())
        {
            headers.insert(CALLER, caller.as_str());
        }
        if let Some(address) = &ctx.client_address {
            headers.insert(CLIENT_ADDRESS, address.as_str());
        }
        telemetry::inject_into(&mut headers);
        let subject = crate::subject(&self.namespace, service, endpoint);
        let request = async_nats::Request::new()
            .payload(payload.into())
            .headers(headers)
            .timeout(Some(self.timeout));
        match self.client.send_request(subject, request).await {
            Ok(message) => match serde_json::from_slice::<Reply>(&message.payload) {
                Ok(reply) => reply,
                Err(error) => {
                    tracing::error!(service, endpoint, %error, "unreadable reply from service");
                    Reply::Problem(Problem::internal())
                }
            },
            Err(e) => match e.kind() {
                RequestErrorKind::NoResponders => Reply::Problem(Problem::unavailable(format!(
                    "the {service} service is not running"
                ))),
                RequestErrorKind::TimedOut => Reply::Problem(Problem::timeout(format!(
                    "the {service} service did not answer in time"
                ))),
                RequestErrorKind::MaxPayloadExceeded => {
                    Reply::Problem(Problem::payload_too_large(MAX_BODY))
                }
                RequestErrorKind::InvalidSubject | RequestErrorKind::Other => {
                    tracing::error!(service, endpoint, error = %e, "bus request failed");
                    Reply::Problem(Problem::unavailable("the message bus is unavailable"))
                }
            },
        }
    }
}
