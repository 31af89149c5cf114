//! The public contract of the resource directory: what it accepts on the bus, what it
//! answers, the events of its stream and its HTTP routes. Serde types only, no behaviour.
//!
//! A care manager must find, now, a provider that can take a patient. Each provider says
//! itself whether it accepts new users (yes, no, or with conditions), how many new clients
//! its care managers can take, and its vacancies by date; every update is an event naming
//! who and when, and a status is shown as fresh only for a configured time — then as stale,
//! with its age. The directory holds no patient data.

pub mod availability;
pub mod events;
pub mod routes;

pub use routes::api;

/// The service's name on the bus (`<namespace>.rpc.directory.<endpoint>`).
pub const SERVICE: &str = "directory";

/// The event context this service writes (stream `<NAMESPACE>_DIRECTORY`).
pub const CONTEXT: &str = "directory";

/// Aggregate types of this context.
pub mod aggregates {
    /// A site's availability, identified by the site's id: updated again and again.
    pub const AVAILABILITY: &str = "availability";
    /// A site's listing (location, hours, capabilities…), identified by the site's id.
    pub const LISTING: &str = "listing";
}

/// Endpoint names on the bus.
pub mod endpoints {
    /// Command: a site says what it can take now ([`crate::availability::UpdateAvailability`]).
    pub const UPDATE_AVAILABILITY: &str = "update_availability";
    /// Query: every site's latest status in the caller's municipality
    /// ([`crate::availability::ListAvailability`]).
    pub const LIST_AVAILABILITY: &str = "list_availability";
    /// Query: one site's latest status and its history ([`crate::availability::SiteAvailability`]).
    pub const SITE_AVAILABILITY: &str = "site_availability";

    /// Command: a site's listing (location, hours, capabilities…) ([`crate::availability::ChangeListing`]).
    pub const CHANGE_LISTING: &str = "change_listing";
    /// Query: the listings of the caller's municipality ([`crate::availability::ListListings`]).
    pub const LIST_LISTINGS: &str = "list_listings";

    /// Every endpoint the service answers.
    pub const ALL: &[&str] = &[
        UPDATE_AVAILABILITY,
        LIST_AVAILABILITY,
        SITE_AVAILABILITY,
        CHANGE_LISTING,
        LIST_LISTINGS,
    ];
}
