//! The public contract of the identity & consent service: what it accepts on the bus,
//! what it answers, and the events it publishes. Serde types only, no behaviour; the
//! gateway and integrators depend on this crate, never on the service itself.
//!
//! So far it holds the register of municipalities (the tenants of a region), their
//! areas (wards, daily-life areas) and groupings (wide-area unions, a coordination
//! centre's coverage).

pub mod events;
pub mod municipalities;

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
    /// Query: one municipality.
    pub const GET_MUNICIPALITY: &str = "get_municipality";
    /// Query: a page of municipalities.
    pub const LIST_MUNICIPALITIES: &str = "list_municipalities";
    /// Query: one group.
    pub const GET_GROUP: &str = "get_group";
    /// Query: a page of groups.
    pub const LIST_GROUPS: &str = "list_groups";
    /// Readiness: answers when the service reaches its database.
    pub const HEALTH: &str = "health";
}
