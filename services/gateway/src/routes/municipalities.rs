//! The register of municipalities: operator writes, reads for the region.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use identity_api::SERVICE;
use identity_api::endpoints as ep;
use identity_api::municipalities::*;
use problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;

use super::forward;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{Body, MinPosition, Params, RequestId};
use crate::state::AppState;

/// Answer to a command: what was changed and where its event is stored.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Written {
    /// The stream position of the event (`STREAM:SEQUENCE`); send it back as
    /// `Tsunagu-Min-Position` to read your own write.
    #[schema(example = "TSUNAGU_IDENTITY:42")]
    pub position: String,
}

/// A municipality in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CodePath {
    /// Local government code (6 digits, the last a check digit).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
}

/// An area of a municipality in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AreaPath {
    /// Local government code.
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
    /// The area's id.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub area_id: String,
}

/// A group in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupPath {
    /// The group's id.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub group_id: String,
}

/// A member of a group in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupMemberPath {
    /// The group's id.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub group_id: String,
    /// Local government code.
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
}

/// Read-your-writes: the position of your last change.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ReadAfter {
    /// Wait until the answering projection has applied this position (a `Tsunagu-Position`
    /// you received), e.g. `TSUNAGU_IDENTITY:42`.
    #[param(
        rename = "Tsunagu-Min-Position",
        pattern = "^([A-Za-z0-9_-]+:[0-9]{1,19})?$",
        nullable = false
    )]
    pub min_position: Option<String>,
}

/// Query parameters of the municipality list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MunicipalityListParams {
    /// Only this prefecture (two digits, 01–47).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])$", nullable = false)]
    pub prefecture: Option<String>,
    /// Key of the last item of the previous page (a code).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$", nullable = false)]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// Query parameters of the group list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GroupListParams {
    /// Key of the last item of the previous page (a group id).
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$", nullable = false)]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// Register a municipality.
#[utoipa::path(post, path = "/municipalities", tag = "municipalities", security(("bearer" = [])),
    request_body = RegisterMunicipality,
    responses(
        (status = 201, description = "registered", body = Written),
        (status = 400, description = "unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already registered, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (e.g. wrong check digit)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "a service is unavailable", body = Problem, content_type = "application/problem+json")))]
pub async fn register_municipality(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Body(body): Body<RegisterMunicipality>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::REGISTER_MUNICIPALITY,
        &ctx,
        &body,
        StatusCode::CREATED,
    )
    .await
}

/// List municipalities in code order, a page at a time.
#[utoipa::path(get, path = "/municipalities", tag = "municipalities", security(("bearer" = [])),
    params(MunicipalityListParams, ReadAfter),
    responses(
        (status = 200, description = "a page", body = Page<MunicipalityView>),
        (status = 400, description = "bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "not caught up in time", body = Problem, content_type = "application/problem+json")))]
pub async fn list_municipalities(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Params(p): Params<MunicipalityListParams>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    let q = ListMunicipalities {
        prefecture: p.prefecture,
        after: p.after,
        limit: p.limit,
    };
    forward(
        &state,
        SERVICE,
        ep::LIST_MUNICIPALITIES,
        &ctx,
        &q,
        StatusCode::OK,
    )
    .await
}

/// One municipality with its areas and groups.
#[utoipa::path(get, path = "/municipalities/{code}", tag = "municipalities", security(("bearer" = [])),
    params(CodePath, ReadAfter),
    responses(
        (status = 200, description = "the municipality", body = MunicipalityView),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a valid code", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "not caught up in time", body = Problem, content_type = "application/problem+json")))]
pub async fn get_municipality(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Path(CodePath { code }): Path<CodePath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    forward(
        &state,
        SERVICE,
        ep::GET_MUNICIPALITY,
        &ctx,
        &GetMunicipality { code },
        StatusCode::OK,
    )
    .await
}

/// Change a municipality's name.
#[utoipa::path(patch, path = "/municipalities/{code}", tag = "municipalities", security(("bearer" = [])),
    params(CodePath),
    request_body = MunicipalityNameChange,
    responses(
        (status = 200, description = "renamed", body = Written),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not registered", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn rename_municipality(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(CodePath { code }): Path<CodePath>,
    Body(change): Body<MunicipalityNameChange>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::RENAME_MUNICIPALITY,
        &ctx,
        &RenameMunicipality { code, change },
        StatusCode::OK,
    )
    .await
}

/// Add a ward or daily-life area.
#[utoipa::path(post, path = "/municipalities/{code}/areas", tag = "municipalities", security(("bearer" = [])),
    params(CodePath),
    request_body = NewArea,
    responses(
        (status = 201, description = "added", body = Written),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "municipality not registered", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "area exists, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn add_area(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(CodePath { code }): Path<CodePath>,
    Body(area): Body<NewArea>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::ADD_AREA,
        &ctx,
        &AddArea { code, area },
        StatusCode::CREATED,
    )
    .await
}

/// Remove an area.
#[utoipa::path(delete, path = "/municipalities/{code}/areas/{area_id}", tag = "municipalities", security(("bearer" = [])),
    params(AreaPath),
    responses(
        (status = 200, description = "removed", body = Written),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such municipality or area", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a concurrent change", body = Problem, content_type = "application/problem+json")))]
pub async fn remove_area(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(AreaPath { code, area_id }): Path<AreaPath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::REMOVE_AREA,
        &ctx,
        &RemoveArea { code, area_id },
        StatusCode::OK,
    )
    .await
}

/// Form a group of municipalities.
#[utoipa::path(post, path = "/municipality-groups", tag = "municipalities", security(("bearer" = [])),
    request_body = FormGroup,
    responses(
        (status = 201, description = "formed", body = Written),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "group exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (e.g. an unregistered member)", body = Problem, content_type = "application/problem+json")))]
pub async fn form_group(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Body(body): Body<FormGroup>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::FORM_GROUP,
        &ctx,
        &body,
        StatusCode::CREATED,
    )
    .await
}

/// List groups in id order, a page at a time.
#[utoipa::path(get, path = "/municipality-groups", tag = "municipalities", security(("bearer" = [])),
    params(GroupListParams, ReadAfter),
    responses(
        (status = 200, description = "a page", body = Page<GroupView>),
        (status = 400, description = "bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a parameter is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn list_groups(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Params(p): Params<GroupListParams>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    forward(
        &state,
        SERVICE,
        ep::LIST_GROUPS,
        &ctx,
        &ListGroups {
            after: p.after,
            limit: p.limit,
        },
        StatusCode::OK,
    )
    .await
}

/// One group with its members.
#[utoipa::path(get, path = "/municipality-groups/{group_id}", tag = "municipalities", security(("bearer" = [])),
    params(GroupPath, ReadAfter),
    responses(
        (status = 200, description = "the group", body = GroupView),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such group", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a valid id", body = Problem, content_type = "application/problem+json")))]
pub async fn get_group(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Path(GroupPath { group_id }): Path<GroupPath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    forward(
        &state,
        SERVICE,
        ep::GET_GROUP,
        &ctx,
        &GetGroup { group_id },
        StatusCode::OK,
    )
    .await
}

/// Add a municipality to a group.
#[utoipa::path(post, path = "/municipality-groups/{group_id}/members", tag = "municipalities", security(("bearer" = [])),
    params(GroupPath),
    request_body = NewGroupMember,
    responses(
        (status = 201, description = "joined", body = Written),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such group", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already a member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a registered municipality", body = Problem, content_type = "application/problem+json")))]
pub async fn join_group(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(GroupPath { group_id }): Path<GroupPath>,
    Body(member): Body<NewGroupMember>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::JOIN_GROUP,
        &ctx,
        &GroupMembership {
            group_id,
            code: member.code,
        },
        StatusCode::CREATED,
    )
    .await
}

/// Take a municipality out of a group.
#[utoipa::path(delete, path = "/municipality-groups/{group_id}/members/{code}", tag = "municipalities", security(("bearer" = [])),
    params(GroupMemberPath),
    responses(
        (status = 200, description = "left", body = Written),
        (status = 401, description = "no valid credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such group or member", body = Problem, content_type = "application/problem+json")))]
pub async fn leave_group(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(GroupMemberPath { group_id, code }): Path<GroupMemberPath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::LEAVE_GROUP,
        &ctx,
        &GroupMembership { group_id, code },
        StatusCode::OK,
    )
    .await
}
