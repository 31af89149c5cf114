//! The one messaging route the gateway answers itself: a file attached to a post streams from
//! the file store once the messaging service has decided and recorded the read. Its
//! declaration is messaging's (`messaging_api::routes`).

use axum::extract::{Path, State};
use axum::response::Response;
use messaging_api::endpoints as ep;
use messaging_api::routes::{AttachmentPath, PostReadParams};
use messaging_api::timeline::{AttachmentAllowed, OpenAttachment};

use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{ClientAddr, MinPosition, Params, RequestId};
use crate::state::AppState;

/// A file attached to a post, streamed once the read of the post is allowed and recorded.
pub async fn post_attachment(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    after: MinPosition,
    Path(AttachmentPath {
        patient_id,
        post_id,
        sha256,
    }): Path<AttachmentPath>,
    Params(p): Params<PostReadParams>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, after).from_address(addr.0);
    let q = OpenAttachment {
        patient_id,
        post_id,
        sha256,
        purpose: p.purpose.unwrap_or(consent::Purpose::Care),
    };
    let allowed: AttachmentAllowed = match state
        .bus
        .call(messaging_api::SERVICE, ep::OPEN_ATTACHMENT, &ctx, &q)
        .await
    {
        bus::Reply::Ok { value, .. } => {
            serde_json::from_value(value).map_err(|_| ApiError(problem::Problem::internal()))?
        }
        bus::Reply::Problem(p) => return Err(ApiError(p)),
    };
    let Some((blob, content)) = state
        .blobs
        .get(&allowed.sha256)
        .await
        .map_err(super::files::problem)?
    else {
        return Err(problem::Problem::unavailable("the attachment's file is missing").into());
    };
    super::files::streamed(&blob, content)
}
