//! Organisations (法人) and their service sites (事業所): operator writes, reads for the
//! region. Sign-in comes later; until then every route asks for the operator's proof.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use identity_api::SERVICE;
use identity_api::endpoints as ep;
use identity_api::municipalities::Page;
use identity_api::organisations::*;
use problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;

use super::forward;
use super::municipalities::ReadAfter;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::extract::{Body, MinPosition, Params, RequestId};
use crate::state::AppState;

/// Answer to a command on an organisation.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrganisationWritten {
    /// The organisation (chosen by the service when it is registered).
    #[schema(example = "0190a0c0-1a2b-7c3d-8e4f-5a6b7c8d9e0f")]
    pub organisation_id: String,
    /// The stream position of the event (`STREAM:SEQUENCE`); send it back as
    /// `Tsunagu-Min-Position` to read your own write.
    #[schema(example = "TSUNAGU_IDENTITY:42")]
    pub position: String,
}

/// Answer to a command on a site.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SiteWritten {
    /// The site (chosen by the service when it is registered).
    #[schema(example = "0190a0c0-1a2b-7c3d-8e4f-5a6b7c8d9e10")]
    pub site_id: String,
    /// The organisation that runs it; in the answer to a registration.
    #[schema(nullable = false)]
    pub organisation_id: Option<String>,
    /// The stream position of the event (`STREAM:SEQUENCE`); send it back as
    /// `Tsunagu-Min-Position` to read your own write.
    #[schema(example = "TSUNAGU_IDENTITY:43")]
    pub position: String,
}

/// An organisation in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrganisationPath {
    /// The organisation's id (a UUID).
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub organisation_id: String,
}

/// A site in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SitePath {
    /// The site's id (a UUID).
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    )]
    pub site_id: String,
}

/// Query parameters of the organisation list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationListParams {
    /// Key of the last item of the previous page (an organisation id).
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        nullable = false
    )]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// Query parameters of the site list. Filters combine (all must hold).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SiteListParams {
    /// Only sites serving this municipality (its code).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$", nullable = false)]
    pub municipality: Option<String>,
    /// Only sites holding this service type (its code, e.g. 13).
    #[param(pattern = "^[0-9][0-9A-Za-z]$", nullable = false)]
    pub service_type: Option<String>,
    /// Only sites of this kind.
    #[param(inline, nullable = false)]
    pub kind: Option<SiteKind>,
    /// Only sites of this organisation.
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        nullable = false
    )]
    pub organisation_id: Option<String>,
    /// Closed sites too (default false: open sites only).
    #[param(nullable = false)]
    pub include_closed: Option<bool>,
    /// Key of the last item of the previous page (a site id).
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        nullable = false
    )]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// Register an organisation (法人). The service chooses its id and answers with it.
#[utoipa::path(post, path = "/organisations", tag = "organisations", security(("bearer" = [])),
    request_body = NewOrganisation,
    responses(
        (status = 201, description = "registered", body = OrganisationWritten),
        (status = 409, description = "another organisation holds the corporate number", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (e.g. the corporate number's check digit, an unregistered municipality)", body = Problem, content_type = "application/problem+json")))]
pub async fn register_organisation(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Body(body): Body<NewOrganisation>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::REGISTER_ORGANISATION,
        &ctx,
        &body,
        StatusCode::CREATED,
    )
    .await
}

/// List organisations in reading (五十音) order, then id, a page at a time (without their
/// sites: read one organisation, or filter the site list by organisation).
#[utoipa::path(get, path = "/organisations", tag = "organisations", security(("bearer" = [])),
    params(OrganisationListParams, ReadAfter),
    responses(
        (status = 200, description = "a page", body = Page<OrganisationSummary>),
        (status = 422, description = "a parameter is invalid (e.g. an unknown page key)", body = Problem, content_type = "application/problem+json")))]
pub async fn list_organisations(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Params(p): Params<OrganisationListParams>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    forward(
        &state,
        SERVICE,
        ep::LIST_ORGANISATIONS,
        &ctx,
        &ListOrganisations {
            after: p.after,
            limit: p.limit,
        },
        StatusCode::OK,
    )
    .await
}

/// One organisation with its sites.
#[utoipa::path(get, path = "/organisations/{organisation_id}", tag = "organisations", security(("bearer" = [])),
    params(OrganisationPath, ReadAfter),
    responses(
        (status = 200, description = "the organisation", body = OrganisationView),
        (status = 404, description = "no such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a valid id", body = Problem, content_type = "application/problem+json")))]
pub async fn get_organisation(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Path(OrganisationPath { organisation_id }): Path<OrganisationPath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    forward(
        &state,
        SERVICE,
        ep::GET_ORGANISATION,
        &ctx,
        &GetOrganisation { organisation_id },
        StatusCode::OK,
    )
    .await
}

/// Change an organisation's name.
#[utoipa::path(patch, path = "/organisations/{organisation_id}", tag = "organisations", security(("bearer" = [])),
    params(OrganisationPath),
    request_body = OrganisationNameChange,
    responses(
        (status = 200, description = "renamed (or already so named)", body = OrganisationWritten),
        (status = 404, description = "no such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn rename_organisation(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(OrganisationPath { organisation_id }): Path<OrganisationPath>,
    Body(change): Body<OrganisationNameChange>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::RENAME_ORGANISATION,
        &ctx,
        &RenameOrganisation {
            organisation_id,
            change,
        },
        StatusCode::OK,
    )
    .await
}

/// Register a service site (事業所) of an organisation. The service chooses its id and
/// answers with it.
#[utoipa::path(post, path = "/organisations/{organisation_id}/sites", tag = "sites", security(("bearer" = [])),
    params(OrganisationPath),
    request_body = SiteDetails,
    responses(
        (status = 201, description = "registered", body = SiteWritten),
        (status = 404, description = "no such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "another open site holds the provider number", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid (e.g. an unknown service type, an area not in the municipality, a phone number)", body = Problem, content_type = "application/problem+json")))]
pub async fn register_site(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(OrganisationPath { organisation_id }): Path<OrganisationPath>,
    Body(details): Body<SiteDetails>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::REGISTER_SITE,
        &ctx,
        &RegisterSite {
            organisation_id,
            details,
        },
        StatusCode::CREATED,
    )
    .await
}

/// List sites in reading (五十音) order, then id, a page at a time; filter by the
/// municipality served, a service type, a kind or an organisation.
#[utoipa::path(get, path = "/sites", tag = "sites", security(("bearer" = [])),
    params(SiteListParams, ReadAfter),
    responses(
        (status = 200, description = "a page", body = Page<SiteView>),
        (status = 422, description = "a parameter is invalid (e.g. an unknown service type)", body = Problem, content_type = "application/problem+json")))]
pub async fn list_sites(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Params(p): Params<SiteListParams>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    let q = ListSites {
        municipality: p.municipality,
        service_type: p.service_type,
        kind: p.kind,
        organisation_id: p.organisation_id,
        include_closed: p.include_closed,
        after: p.after,
        limit: p.limit,
    };
    forward(&state, SERVICE, ep::LIST_SITES, &ctx, &q, StatusCode::OK).await
}

/// One site.
#[utoipa::path(get, path = "/sites/{site_id}", tag = "sites", security(("bearer" = [])),
    params(SitePath, ReadAfter),
    responses(
        (status = 200, description = "the site", body = SiteView),
        (status = 404, description = "no such site", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a valid id", body = Problem, content_type = "application/problem+json")))]
pub async fn get_site(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    min: MinPosition,
    Path(SitePath { site_id }): Path<SitePath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context_after(&rid, min);
    forward(
        &state,
        SERVICE,
        ep::GET_SITE,
        &ctx,
        &GetSite { site_id },
        StatusCode::OK,
    )
    .await
}

/// Replace a site's details: the body is the whole editable set, and an optional field
/// left out (FAX, 24-hour contact, provider number, area, service types, municipalities
/// served) is cleared.
#[utoipa::path(put, path = "/sites/{site_id}", tag = "sites", security(("bearer" = [])),
    params(SitePath),
    request_body = SiteDetails,
    responses(
        (status = 200, description = "replaced (or already so)", body = SiteWritten),
        (status = 404, description = "no such site", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the site is closed, another open site holds the provider number, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field is invalid", body = Problem, content_type = "application/problem+json")))]
pub async fn replace_site_details(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(SitePath { site_id }): Path<SitePath>,
    Body(details): Body<SiteDetails>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::CHANGE_SITE_DETAILS,
        &ctx,
        &ChangeSiteDetails { site_id, details },
        StatusCode::OK,
    )
    .await
}

/// Close a site. It stays readable (with `closed_at`), leaves the site list unless
/// `include_closed=true`, frees its provider number, and its details no longer change.
/// Closing a closed site changes nothing.
#[utoipa::path(delete, path = "/sites/{site_id}", tag = "sites", security(("bearer" = [])),
    params(SitePath),
    responses(
        (status = 200, description = "closed (or already closed)", body = SiteWritten),
        (status = 404, description = "no such site", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a concurrent change", body = Problem, content_type = "application/problem+json")))]
pub async fn close_site(
    State(state): State<AppState>,
    signed: Signed,
    rid: RequestId,
    Path(SitePath { site_id }): Path<SitePath>,
) -> Result<Response, ApiError> {
    let ctx = signed.context(&rid);
    forward(
        &state,
        SERVICE,
        ep::CLOSE_SITE,
        &ctx,
        &CloseSite { site_id },
        StatusCode::OK,
    )
    .await
}
