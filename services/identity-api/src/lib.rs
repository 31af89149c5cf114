//! The public contract of the identity & consent service: what it accepts on the bus,
//! what it answers, and the events it publishes. Serde types only, no behaviour; the
//! gateway and integrators depend on this crate, never on the service itself.
//!
//! So far it holds the register of municipalities (the tenants of a region), their
//! areas (wards, daily-life areas) and groupings (wide-area unions, a coordination
//! centre's coverage); the organisations (法人) of the region and their service sites
//! (事業所); the service type codes of the long-term care insurance; and patients, with
//! their consents, care teams and break-glass grants (one aggregate per patient).

pub mod closed_lists;
pub mod colleagues;
pub mod events;
pub mod members;
pub mod municipalities;
pub mod organisations;
pub mod patient_access;
pub mod patients;
pub mod places;
pub mod service_types;

/// The HTTP routes of this service, for the gateway to mount.
pub fn api() -> doors::Api {
    const TAGS: &[doors::Tag] = &[
        doors::Tag {
            name: "municipalities",
            description: "The register of municipalities, their areas and groups",
        },
        doors::Tag {
            name: "organisations",
            description: "Organisations (法人): the legal entities that run service sites",
        },
        doors::Tag {
            name: "sites",
            description: "Service sites (事業所): the region's directory of providers, filtered by municipality served, service type and kind",
        },
        doors::Tag {
            name: "members",
            description: "Joining, signing in with two factors, sessions and leaving",
        },
        doors::Tag {
            name: "patients",
            description: "Patients: registration, moves, end of care, break-glass and the history of who could see them. Every access to a patient's data is decided by consent and team and recorded",
        },
        doors::Tag {
            name: "consents",
            description: "Consent forms (同意書): recorded by the receiving site, verified by the secretariat, amended, withdrawn",
        },
        doors::Tag {
            name: "care team",
            description: "The sites and members caring for a patient, the 24-hour contact and family contacts",
        },
    ];
    let mut routes = municipalities::routes::routes();
    routes.extend(organisations::routes::routes());
    routes.extend(members::routes::routes());
    routes.extend(patients::routes::routes());
    doors::Api { tags: TAGS, routes }
}

/// The service's name on the bus (`<namespace>.rpc.identity.<endpoint>`).
pub const SERVICE: &str = "identity";

/// The event context this service writes (stream `<NAMESPACE>_IDENTITY`).
pub const CONTEXT: &str = "identity";

/// Aggregate types of this context, the third token of their subjects.
pub mod aggregates {
    /// A municipality of the register, identified by its local government code.
    pub const MUNICIPALITY: &str = "municipality";
    /// A grouping of municipalities, identified by its slug.
    pub const MUNICIPALITY_GROUP: &str = "municipality_group";
    /// An organisation (法人), identified by a UUIDv7 the service chose.
    pub const ORGANISATION: &str = "organisation";
    /// A service site (事業所), identified by a UUIDv7 the service chose.
    pub const SITE: &str = "site";
    /// A patient with their consents, care team and break-glass grants, identified by a
    /// UUIDv7 the service chose (see [`crate::patients`]).
    pub const PATIENT: &str = crate::patients::PATIENT;
}

/// Endpoint names on the bus.
pub mod endpoints {
    /// Command: register a municipality.
    pub const REGISTER_MUNICIPALITY: &str = "register_municipality";
    /// Command: change a municipality's name.
    pub const RENAME_MUNICIPALITY: &str = "rename_municipality";
    /// Command: add an area to a municipality.
    pub const ADD_AREA: &str = "add_area";
    /// Command: remove an area.
    pub const REMOVE_AREA: &str = "remove_area";
    /// Command: form a group of municipalities.
    pub const FORM_GROUP: &str = "form_group";
    /// Command: add a municipality to a group.
    pub const JOIN_GROUP: &str = "join_group";
    /// Command: take a municipality out of a group.
    pub const LEAVE_GROUP: &str = "leave_group";
    /// Command: register an organisation.
    pub const REGISTER_ORGANISATION: &str = "register_organisation";
    /// Command: change an organisation's name.
    pub const RENAME_ORGANISATION: &str = "rename_organisation";
    /// Command: register a service site of an organisation.
    pub const REGISTER_SITE: &str = "register_site";
    /// Command: replace a site's details.
    pub const CHANGE_SITE_DETAILS: &str = "change_site_details";
    /// Command: close a site.
    pub const CLOSE_SITE: &str = "close_site";
    /// Query: one municipality.
    pub const GET_MUNICIPALITY: &str = "get_municipality";
    /// Query: a page of municipalities.
    pub const LIST_MUNICIPALITIES: &str = "list_municipalities";
    /// Query: one group.
    pub const GET_GROUP: &str = "get_group";
    /// Query: a page of groups.
    pub const LIST_GROUPS: &str = "list_groups";
    /// Query: one organisation with its sites.
    pub const GET_ORGANISATION: &str = "get_organisation";
    /// Query: a page of organisations.
    pub const LIST_ORGANISATIONS: &str = "list_organisations";
    /// Query: one site.
    pub const GET_SITE: &str = "get_site";
    /// Query: a page of sites, filtered.
    pub const LIST_SITES: &str = "list_sites";
    /// Readiness: answers when the service reaches its database.
    pub const HEALTH: &str = "health";
}
