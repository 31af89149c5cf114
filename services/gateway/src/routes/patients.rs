//! The two patient routes the gateway answers itself, because a document's bytes live in
//! the file store, not on the bus: attaching a file the caller holds, and streaming a
//! document's content once the identity service's access decision allows it. Their
//! declarations are identity's (`identity_api::patients::routes`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use identity_api::SERVICE;
use identity_api::patients::endpoints as ep;
use identity_api::patients::routes::{DocumentPath, NewDocument, PatientPath, PurposeParams};
use identity_api::patients::*;

use super::forward;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{Body, ClientAddr, MinPosition, Params, RequestId};
use crate::state::AppState;

fn patient_context(signed: &Signed, rid: &RequestId, addr: ClientAddr) -> bus::CallContext {
    signed
        .context_after(rid, MinPosition(None))
        .from_address(addr.0)
}

/// Attach a file you uploaded to the patient's record, as data of one category: allowed
/// through consent (write) or break-glass.
pub async fn attach_document(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(PatientPath { patient_id }): Path<PatientPath>,
    Body(doc): Body<NewDocument>,
) -> Result<Response, ApiError> {
    let Signed::Member(caller) = &signed else {
        return Err(problem::Problem::forbidden("documents are attached by members").into());
    };
    // A digest is not a permission: only a file the caller (or their site) holds, and its
    // type and size as the store decided them, never as the client says.
    let holders = super::files::holders(caller);
    let not_yours = || {
        ApiError(problem::Problem::invalid_field(
            "/sha256",
            "no file you or your site uploaded has this digest",
        ))
    };
    if !blob_store::is_sha256_hex(&doc.sha256)
        || !state
            .blobs
            .held_by_any(&doc.sha256, &holders)
            .await
            .map_err(super::files::problem)?
    {
        return Err(not_yours());
    }
    let Some((blob, _)) = state
        .blobs
        .get(&doc.sha256)
        .await
        .map_err(super::files::problem)?
    else {
        return Err(not_yours());
    };
    let ctx = patient_context(&signed, &rid, addr);
    let c = AttachDocument {
        patient_id,
        category: doc.category,
        sha256: blob.sha256,
        media_type: blob.media_type,
        size: blob.size,
        title: doc.title,
        purpose: doc.purpose.unwrap_or(consent::Purpose::Care),
    };
    forward(
        &state,
        SERVICE,
        ep::ATTACH_DOCUMENT,
        &ctx,
        &c,
        StatusCode::CREATED,
    )
    .await
}

/// A document's content, streamed, once the access decision allows its category (and the
/// access is recorded).
pub async fn document_content(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    addr: ClientAddr,
    Path(DocumentPath {
        patient_id,
        document_id,
    }): Path<DocumentPath>,
    Params(p): Params<PurposeParams>,
) -> Result<Response, ApiError> {
    let ctx = patient_context(&signed, &rid, addr);
    let q = OpenDocument {
        patient_id,
        document_id,
        purpose: p.purpose.unwrap_or(consent::Purpose::Care),
    };
    let value = match state.bus.call(SERVICE, ep::OPEN_DOCUMENT, &ctx, &q).await {
        bus::Reply::Ok { value, .. } => value,
        bus::Reply::Problem(p) => return Err(ApiError(p)),
    };
    let doc: DocumentBlob =
        serde_json::from_value(value).map_err(|_| ApiError(problem::Problem::internal()))?;
    let Some((blob, content)) = state
        .blobs
        .get(&doc.sha256)
        .await
        .map_err(super::files::problem)?
    else {
        return Err(problem::Problem::unavailable("the document's file is missing").into());
    };
    super::files::streamed(&blob, content)
}
