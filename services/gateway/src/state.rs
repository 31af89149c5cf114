use std::sync::Arc;

use bus::BusClient;

/// What every route shares.
#[derive(Clone)]
pub struct AppState {
    pub bus: BusClient,
    pub bootstrap_token: Arc<str>,
    pub body_limit: usize,
}
