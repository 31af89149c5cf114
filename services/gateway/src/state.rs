use std::sync::Arc;

use bus::BusClient;

/// What every route shares.
#[derive(Clone)]
pub struct AppState {
    pub bus: BusClient,
    pub bootstrap_token: Arc<str>,
    pub body_limit: usize,
    /// Verifies members' access tokens.
    pub keys: Arc<crate::sessions::TokenKeys>,
    /// Sessions and members refused until their tokens expire.
    pub revocations: Arc<crate::sessions::Revocations>,
    /// The gateway's clock (token times).
    pub clock: clock::SharedClock,
    /// Request rates per address and per member.
    pub limits: Arc<crate::limits::Limits>,
    /// Uploaded files, by SHA-256.
    pub blobs: Arc<blob_store::BlobStore>,
    /// `TSUNAGU_UPLOAD_LIMIT`: the largest file an upload may carry, in bytes.
    pub upload_limit: u64,
    /// Records the requests the permission rules refuse (`PermissionDenied`).
    pub refusals: access_log::AccessLog,
    /// Failed sign-ins per client address.
    pub failed_sign_ins: Arc<crate::sessions::FailedSignIns>,
}
