//! Who may call which route: one table, read by the guard before any handler runs.
//!
//! Every route of the router has exactly one row here (a test compares the table with the
//! OpenAPI document, which is built from the same route list as the router); a route
//! without a row is refused at run time, so forgetting a row closes a door rather than
//! opening one. The actions are the shared permission data's (`permissions::RULES`): the
//! gateway asks the same question every service asks.
//!
//! The gateway decides what it can see from the request: the caller's roles and
//! profession, and the tie to an object whose id is in the path when the token says it
//! (their own municipality, their own account, a site they work at). Ties it cannot see
//! (which organisation runs a site, which municipality a member belongs to) are left to the
//! service that owns the object, which checks them again with its own data.

use axum::http::Method;
use permissions::{Action, Caller, Relationship};

/// Who gets through a route's door.
#[derive(Debug, Clone, Copy)]
pub enum Door {
    /// No credential needed: health, the public keys, signing in and joining.
    Open,
    /// The operator's bootstrap credential, or a signed-in member whose roles allow one of
    /// these actions.
    Signed(&'static [Action]),
    /// A signed-in member only, about their own account or session.
    OwnAccount,
    /// A read of one patient's data: any signed-in caller gets through to the service,
    /// whose one access decision (the permission rules, then consent and team) refuses and
    /// records the refusal — a refusal the gateway made itself would leave no access record.
    PatientRead,
}

/// What the id in a route's path is, so the gateway can work out the caller's tie to it.
#[derive(Debug, Clone, Copy)]
pub enum Object {
    /// Nothing in the path, or nothing the gateway can place (the service checks).
    Unplaced,
    /// A municipality code in this path parameter: `own_municipality` holds only when it is
    /// the caller's.
    Municipality(&'static str),
    /// A member id: `self` holds only when it is the caller.
    Member(&'static str),
    /// A site id: `own_site` holds only when the caller works there.
    Site(&'static str),
}

/// One route's row.
#[derive(Debug, Clone)]
pub struct RouteAccess {
    pub method: Method,
    /// The path as the router matches it, e.g. `/api/v1/sites/{site_id}`.
    pub path: &'static str,
    pub door: Door,
    pub object: Object,
}

const fn row(method: Method, path: &'static str, door: Door, object: Object) -> RouteAccess {
    RouteAccess {
        method,
        path,
        door,
        object,
    }
}

use Action as A;
use Door::{Open, OwnAccount, PatientRead, Signed};
use Object::{Member, Municipality, Site, Unplaced};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

const MANAGE_MEMBERS: &[Action] = &[A::ManageMembersOfMunicipality, A::ManageOwnStaff];
const REGISTER: &[Action] = &[A::ManageRegister];
const READ_REGISTER: &[Action] = &[A::ReadRegister];
const RESOURCES: &[Action] = &[A::ReadResources];
const AUDITORS: &[Action] = &[A::ReadAuditLog];
const AUDIT_READERS: &[Action] = &[
    A::ReadAuditLog,
    A::ReadMunicipalityAudit,
    A::ReadOwnStaffAudit,
];

/// The table. Order is irrelevant; (method, path) is unique (tested).
#[rustfmt::skip]
pub const ROUTES: &[RouteAccess] = &[
    // ── liveness, keys, the document ───────────────────────────────────────────────────
    row(GET,    "/healthz",                                                Open, Unplaced),
    row(GET,    "/readyz",                                                 Open, Unplaced),
    row(GET,    "/.well-known/jwks.json",                                  Open, Unplaced),
    row(GET,    "/api/v1/openapi.json",                                    Open, Unplaced),
    // ── joining and signing in (the credential is in the body) ─────────────────────────
    row(POST,   "/api/v1/activation",                                      Open, Unplaced),
    row(POST,   "/api/v1/activation/second-factor",                        Open, Unplaced),
    row(POST,   "/api/v1/sessions",                                        Open, Unplaced),
    row(POST,   "/api/v1/sessions/refresh",                                Open, Unplaced),
    row(POST,   "/api/v1/self-registration",                               Open, Unplaced),
    row(POST,   "/api/v1/oauth/token",                                     Open, Unplaced),
    // ── one's own account ──────────────────────────────────────────────────────────────
    row(GET,    "/api/v1/me",                                              OwnAccount, Unplaced),
    row(DELETE, "/api/v1/sessions/current",                                OwnAccount, Unplaced),
    row(DELETE, "/api/v1/me/sessions",                                     OwnAccount, Unplaced),
    // The list is the member's own; each patient on it is decided (and recorded) by the
    // identity service like a single read.
    row(GET,    "/api/v1/me/patients",                                     OwnAccount, Unplaced),
    // ── members ────────────────────────────────────────────────────────────────────────
    row(POST,   "/api/v1/invitations",                                     Signed(MANAGE_MEMBERS), Unplaced),
    row(GET,    "/api/v1/members/{member_id}",                             Signed(&[A::ManageOwnAccount, A::ManageMembersOfMunicipality, A::ManageOwnStaff]), Member("member_id")),
    row(POST,   "/api/v1/members/{member_id}/deactivation",                Signed(MANAGE_MEMBERS), Member("member_id")),
    row(PUT,    "/api/v1/members/{member_id}/roles",                       Signed(MANAGE_MEMBERS), Member("member_id")),
    row(POST,   "/api/v1/members/{member_id}/credential-reset",            Signed(&[A::ResetCredentials]), Member("member_id")),
    row(POST,   "/api/v1/members/{member_id}/verification",                Signed(&[A::VerifySelfRegistration]), Member("member_id")),
    row(GET,    "/api/v1/municipalities/{code}/members",                   Signed(&[A::ManageMembersOfMunicipality]), Municipality("code")),
    row(POST,   "/api/v1/join-links",                                      Signed(&[A::VerifySelfRegistration]), Unplaced),
    row(POST,   "/api/v1/integrators",                                     Signed(&[A::ManageIntegrators]), Unplaced),
    row(POST,   "/api/v1/signing-keys/rotation",                           Signed(&[A::RotateSigningKeys]), Unplaced),
    // ── the register of municipalities ─────────────────────────────────────────────────
    row(POST,   "/api/v1/municipalities",                                  Signed(REGISTER), Unplaced),
    row(GET,    "/api/v1/municipalities",                                  Signed(READ_REGISTER), Unplaced),
    row(GET,    "/api/v1/municipalities/{code}",                           Signed(READ_REGISTER), Unplaced),
    row(PATCH,  "/api/v1/municipalities/{code}",                           Signed(REGISTER), Unplaced),
    row(POST,   "/api/v1/municipalities/{code}/areas",                     Signed(REGISTER), Unplaced),
    row(DELETE, "/api/v1/municipalities/{code}/areas/{area_id}",           Signed(REGISTER), Unplaced),
    row(POST,   "/api/v1/municipality-groups",                             Signed(REGISTER), Unplaced),
    row(GET,    "/api/v1/municipality-groups",                             Signed(READ_REGISTER), Unplaced),
    row(GET,    "/api/v1/municipality-groups/{group_id}",                  Signed(READ_REGISTER), Unplaced),
    row(POST,   "/api/v1/municipality-groups/{group_id}/members",          Signed(REGISTER), Unplaced),
    row(DELETE, "/api/v1/municipality-groups/{group_id}/members/{code}",   Signed(REGISTER), Unplaced),
    // ── the directory of organisations and sites ───────────────────────────────────────
    row(POST,   "/api/v1/organisations",                                   Signed(&[A::ManageOrganisations]), Unplaced),
    row(GET,    "/api/v1/organisations",                                   Signed(RESOURCES), Unplaced),
    row(GET,    "/api/v1/organisations/{organisation_id}",                 Signed(RESOURCES), Unplaced),
    row(PATCH,  "/api/v1/organisations/{organisation_id}",                 Signed(&[A::ManageOrganisations]), Unplaced),
    row(POST,   "/api/v1/organisations/{organisation_id}/sites",           Signed(&[A::ManageSites]), Unplaced),
    row(GET,    "/api/v1/sites",                                           Signed(RESOURCES), Unplaced),
    row(GET,    "/api/v1/sites/{site_id}",                                 Signed(RESOURCES), Unplaced),
    row(PUT,    "/api/v1/sites/{site_id}",                                 Signed(&[A::ManageSites]), Site("site_id")),
    row(DELETE, "/api/v1/sites/{site_id}",                                 Signed(&[A::ManageSites]), Site("site_id")),
    // ── patients (the identity service decides each patient by consent and team) ──────
    row(POST,   "/api/v1/patients",                                        Signed(&[A::RegisterPatient]), Unplaced),
    row(GET,    "/api/v1/municipalities/{code}/patients",                  Signed(&[A::VerifyConsent]), Municipality("code")),
    row(GET,    "/api/v1/patients/{patient_id}",                           PatientRead, Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/moves",                     Signed(&[A::RegisterPatient, A::ManageCareTeam]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/care-level",                Signed(&[A::RegisterPatient, A::ManageCareTeam]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/end-of-care",               Signed(&[A::RegisterPatient, A::ManageCareTeam]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/consents",                  Signed(&[A::RecordConsent]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/consents/{consent_id}/amendments", Signed(&[A::RecordConsent]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/consents/{consent_id}/verification", Signed(&[A::VerifyConsent]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/consents/{consent_id}/rejection", Signed(&[A::VerifyConsent]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/consents/{consent_id}/withdrawal", Signed(&[A::WithdrawConsent]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/team",                      Signed(&[A::ManageCareTeam]), Unplaced),
    row(DELETE, "/api/v1/patients/{patient_id}/team/{membership_id}",      Signed(&[A::ManageCareTeam]), Unplaced),
    row(PUT,    "/api/v1/patients/{patient_id}/contact-24h",               Signed(&[A::ManageCareTeam]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/family-contacts",           Signed(&[A::ManageCareTeam]), Unplaced),
    row(DELETE, "/api/v1/patients/{patient_id}/family-contacts/{contact_id}", Signed(&[A::ManageCareTeam]), Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/break-glass",               Signed(&[A::BreakGlass]), Unplaced),
    row(GET,    "/api/v1/patients/{patient_id}/who-could-see",             PatientRead, Unplaced),
    row(GET,    "/api/v1/patients/{patient_id}/record",                    PatientRead, Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/documents",                 Signed(&[A::WritePatientClinical]), Unplaced),
    row(GET,    "/api/v1/patients/{patient_id}/documents/{document_id}/content", PatientRead, Unplaced),
    row(POST,   "/api/v1/patients/{patient_id}/erasure",                   Signed(&[A::ErasePatientData]), Unplaced),
    // ── the audit log (the audit service scopes each answer by who asks) ───────────────
    row(GET,    "/api/v1/audit/records",                                   Signed(AUDIT_READERS), Unplaced),
    row(GET,    "/api/v1/audit/patients/{patient_id}/report",              Signed(&[A::ReadAuditLog, A::ReadMunicipalityAudit]), Unplaced),
    row(GET,    "/api/v1/audit/leaks",                                     Signed(AUDITORS), Unplaced),
    row(GET,    "/api/v1/audit/reviews/{code}/{month}",                    Signed(&[A::ReadAuditLog, A::ReadMunicipalityAudit]), Municipality("code")),
    row(GET,    "/api/v1/audit/verification",                              Signed(AUDITORS), Unplaced),
    row(POST,   "/api/v1/audit/verification",                              Signed(AUDITORS), Unplaced),
    row(GET,    "/api/v1/audit/checkpoints",                               Signed(AUDIT_READERS), Unplaced),
    row(GET,    "/api/v1/audit/proofs/inclusion",                          Signed(AUDIT_READERS), Unplaced),
    row(GET,    "/api/v1/audit/proofs/consistency",                        Signed(AUDIT_READERS), Unplaced),
    row(GET,    "/api/v1/audit/replay",                                    Signed(AUDITORS), Unplaced),
    row(GET,    "/api/v1/break-glass-alerts",                              Signed(&[A::ReadBreakGlassAlerts]), Unplaced),
    // ── files ──────────────────────────────────────────────────────────────────────────
    row(POST,   "/api/v1/files",                                           Signed(&[A::ShareFiles]), Unplaced),
    row(GET,    "/api/v1/files/{sha256}",                                  Signed(&[A::ShareFiles]), Unplaced),
];

/// The row of a matched route.
pub fn find(method: &Method, path: &str) -> Option<&'static RouteAccess> {
    ROUTES
        .iter()
        .find(|r| r.method == *method && r.path == path)
}

/// The ties between `caller` and the route's object the gateway can vouch for, plus those
/// it cannot rule out (left to the service). `param` reads a path parameter by name.
pub fn ties<'a>(
    object: Object,
    caller: &Caller,
    param: impl Fn(&str) -> Option<&'a str>,
) -> Vec<Relationship> {
    use Relationship as R;
    // Break-glass is granted by the consent service, never assumed here.
    let unplaced = [
        R::OnPatientTeam,
        R::RegisteringSite,
        R::OwnSite,
        R::OwnOrganisation,
        R::OwnMunicipality,
        R::Self_,
    ];
    match object {
        Object::Unplaced => unplaced.to_vec(),
        Object::Municipality(name) => {
            let own = param(name).is_some_and(|code| caller.municipality.as_deref() == Some(code));
            own.then_some(R::OwnMunicipality).into_iter().collect()
        }
        Object::Member(name) => {
            let mut ties = vec![R::OwnOrganisation, R::OwnMunicipality];
            if param(name) == Some(caller.member_id.as_str()) {
                ties.push(R::Self_);
            }
            ties
        }
        Object::Site(name) => {
            let mut ties = vec![R::OwnOrganisation, R::OwnMunicipality];
            if param(name).is_some_and(|site| caller.sites.iter().any(|s| s == site)) {
                ties.push(R::OwnSite);
            }
            ties
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use permissions::{Profession, Role, Subject};

    fn caller(roles: &[Role], municipality: &str) -> Caller {
        Caller {
            member_id: "m-1".into(),
            session_id: "s-1".into(),
            subject: Subject::new(roles.to_vec(), Some(Profession::Nurse)),
            sites: vec!["site-1".into()],
            municipality: Some(municipality.into()),
        }
    }

    #[test]
    fn each_route_has_one_row() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn every_path_parameter_an_object_names_is_in_its_path() {
        for r in ROUTES {
            let name = match r.object {
                Object::Unplaced => continue,
                Object::Municipality(n) | Object::Member(n) | Object::Site(n) => n,
            };
            assert!(
                r.path.contains(&format!("{{{name}}}")),
                "{} {}",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn a_secretariat_has_a_tie_only_to_its_own_municipality() {
        let izumo = caller(&[Role::MunicipalSecretariat], "322032");
        let own = ties(Object::Municipality("code"), &izumo, |_| Some("322032"));
        let other = ties(Object::Municipality("code"), &izumo, |_| Some("141003"));
        assert_eq!(own, vec![Relationship::OwnMunicipality]);
        assert!(other.is_empty());
    }

    #[test]
    fn self_holds_only_for_the_callers_own_member_id() {
        let nurse = caller(&[Role::Professional], "322032");
        assert!(
            ties(Object::Member("member_id"), &nurse, |_| Some("m-1"))
                .contains(&Relationship::Self_)
        );
        assert!(
            !ties(Object::Member("member_id"), &nurse, |_| Some("m-2"))
                .contains(&Relationship::Self_)
        );
    }
}
