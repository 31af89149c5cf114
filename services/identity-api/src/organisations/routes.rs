//! The directory's routes: organisations and their sites, written by the operator and the
//! secretariat, read by the region.

use doors::{BodyId, Declared, Door, Object, PathId, PathIds, Route};
use permissions::Action;
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::SERVICE;
use crate::endpoints as ep;

const RESOURCES: Door = Door::Signed(&[Action::ReadResources]);
const MANAGE_ORGANISATIONS: Door = Door::Signed(&[Action::ManageOrganisations]);
const MANAGE_SITES: Door = Door::Signed(&[Action::ManageSites]);

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

impl PathIds for OrganisationPath {
    const IDS: &'static [PathId] = &[PathId::new("organisation_id", Object::Organisation)];
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

impl PathIds for SitePath {
    const IDS: &'static [PathId] = &[PathId::new("site_id", Object::Site)];
}

/// Query parameters of the organisation list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationListParams {
    /// Key of the last item of the previous page (an organisation id, as the previous page
    /// gave it: an id that names no organisation is refused).
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
    #[param(schema_with = crate::service_types::code_schema, nullable = false)]
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
    /// Key of the last item of the previous page (a site id, as the previous page gave it:
    /// an id that names no site is refused).
    #[param(
        pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        nullable = false
    )]
    pub after: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, nullable = false)]
    pub limit: Option<u32>,
}

/// The ids of a site's details: its home municipality is the caller's own; the
/// municipalities it serves may be any (a site serves across borders); its area is one of
/// its home municipality's, which the service checks.
const SITE_IDS: &[BodyId] = &[
    BodyId::own("/home_municipality", Object::Municipality),
    BodyId::crossing(
        "/municipalities_served/*",
        Object::Municipality,
        "a site serves patients of several municipalities",
    ),
    BodyId::held_by(
        "/area_id",
        Object::Area,
        "an area of the site's home municipality, which the service checks",
    ),
];

pub fn routes() -> Vec<Declared> {
    vec![
        Route::post("register_organisation", "/api/v1/organisations")
            .tag("organisations")
            .summary("Register an organisation (法人). The service chooses its id and answers with it.")
            .door(MANAGE_ORGANISATIONS)
            .body::<NewOrganisation>()
            .body_ids(const { &[BodyId::own("/home_municipality", Object::Municipality)] })
            .service(SERVICE, ep::REGISTER_ORGANISATION, |_, _, body| Ok(body))
            .answers::<OrganisationWritten>(201, "registered")
            .problems(&[
                (409, "another organisation holds the corporate number"),
                (422, "a field is invalid (e.g. the corporate number's check digit, an unregistered municipality)"),
            ])
            .into(),
        Route::get("list_organisations", "/api/v1/organisations")
            .tag("organisations")
            .summary("List organisations in reading (五十音) order, then id, a page at a time (without their sites: read one organisation, or filter the site list by organisation).")
            .door(RESOURCES)
            .query::<OrganisationListParams>()
            .service(SERVICE, ep::LIST_ORGANISATIONS, |_, q, _| {
                Ok(ListOrganisations {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<OrganisationSummary>(200, "a page")
            .problems(&[(422, "a parameter is invalid (e.g. an unknown page key)")])
            .into(),
        Route::get("get_organisation", "/api/v1/organisations/{organisation_id}")
            .tag("organisations")
            .summary("One organisation with its sites.")
            .door(RESOURCES)
            .path::<OrganisationPath>()
            .service(SERVICE, ep::GET_ORGANISATION, |p, _, _| {
                Ok(GetOrganisation {
                    organisation_id: p.organisation_id,
                })
            })
            .reads_after()
            .answers::<OrganisationView>(200, "the organisation")
            .problems(&[(404, "no such organisation"), (422, "not a valid id")])
            .into(),
        Route::patch("rename_organisation", "/api/v1/organisations/{organisation_id}")
            .tag("organisations")
            .summary("Change an organisation's name.")
            .door(MANAGE_ORGANISATIONS)
            .path::<OrganisationPath>()
            .body::<OrganisationNameChange>()
            .service(SERVICE, ep::RENAME_ORGANISATION, |p, _, change| {
                Ok(RenameOrganisation {
                    organisation_id: p.organisation_id,
                    change,
                })
            })
            .answers::<OrganisationWritten>(200, "renamed (or already so named)")
            .problems(&[
                (404, "no such organisation"),
                (409, "a concurrent change"),
                (422, "a field is invalid"),
            ])
            .into(),
        Route::post("register_site", "/api/v1/organisations/{organisation_id}/sites")
            .tag("sites")
            .summary("Register a service site (事業所) of an organisation. The service chooses its id and answers with it.")
            .door(MANAGE_SITES)
            .path::<OrganisationPath>()
            .body::<SiteDetails>()
            .body_ids(SITE_IDS)
            .service(SERVICE, ep::REGISTER_SITE, |p, _, details| {
                Ok(RegisterSite {
                    organisation_id: p.organisation_id,
                    details,
                })
            })
            .answers::<SiteWritten>(201, "registered")
            .problems(&[
                (404, "no such organisation"),
                (409, "another open site holds the provider number"),
                (422, "a field is invalid (e.g. an unknown service type, an area not in the municipality, a phone number)"),
            ])
            .into(),
        Route::get("list_sites", "/api/v1/sites")
            .tag("sites")
            .summary("List sites in reading (五十音) order, then id, a page at a time; filter by the municipality served, a service type, a kind or an organisation.")
            .door(RESOURCES)
            .query::<SiteListParams>()
            .service(SERVICE, ep::LIST_SITES, |_, q, _| {
                Ok(ListSites {
                    municipality: q.municipality,
                    service_type: q.service_type,
                    kind: q.kind,
                    organisation_id: q.organisation_id,
                    include_closed: q.include_closed,
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<SiteView>(200, "a page")
            .problems(&[(422, "a parameter is invalid (e.g. an unknown service type)")])
            .into(),
        Route::get("get_site", "/api/v1/sites/{site_id}")
            .tag("sites")
            .summary("One site.")
            .door(RESOURCES)
            .path::<SitePath>()
            .service(SERVICE, ep::GET_SITE, |p, _, _| Ok(GetSite { site_id: p.site_id }))
            .reads_after()
            .answers::<SiteView>(200, "the site")
            .problems(&[(404, "no such site"), (422, "not a valid id")])
            .into(),
        Route::put("replace_site_details", "/api/v1/sites/{site_id}")
            .tag("sites")
            .summary("Replace a site's details: the body is the whole editable set, and an optional field left out (FAX, 24-hour contact, provider number, area, service types, municipalities served) is cleared.")
            .door(MANAGE_SITES)
            .path::<SitePath>()
            .body::<SiteDetails>()
            .body_ids(SITE_IDS)
            .service(SERVICE, ep::CHANGE_SITE_DETAILS, |p, _, details| {
                Ok(ChangeSiteDetails {
                    site_id: p.site_id,
                    details,
                })
            })
            .answers::<SiteWritten>(200, "replaced (or already so)")
            .problems(&[
                (404, "no such site"),
                (409, "the site is closed, another open site holds the provider number, or a concurrent change"),
                (422, "a field is invalid"),
            ])
            .into(),
        Route::delete("close_site", "/api/v1/sites/{site_id}")
            .tag("sites")
            .summary("Close a site. It stays readable (with `closed_at`), leaves the site list unless `include_closed=true`, frees its provider number, and its details no longer change. Closing a closed site changes nothing.")
            .door(MANAGE_SITES)
            .path::<SitePath>()
            .service(SERVICE, ep::CLOSE_SITE, |p, _, _| Ok(CloseSite { site_id: p.site_id }))
            .answers::<SiteWritten>(200, "closed (or already closed)")
            .problems(&[(404, "no such site"), (409, "a concurrent change")])
            .into(),
    ]
}
