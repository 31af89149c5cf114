//! Who may call which route: one table, read by the guard before any handler runs.
//!
//! The table is read from the routes' declarations (`doors`), the same ones the router and
//! the OpenAPI document are built from, so every route has exactly one row; a route without
//! a row would be refused at run time, so a row forgotten closes a door rather than opening
//! one. The actions are the shared permission data's (`permissions::RULES`): the
//! gateway asks the same question every service asks.
//!
//! The gateway decides what it can see from the request: the caller's roles and
//! profession, and the tie to an object whose id is in the path when the token says it
//! (their own municipality, their own account, a site they work at). Ties it cannot see
//! (which organisation runs a site, which municipality a member belongs to) are left to the
//! service that owns the object, which checks them again with its own data.

use std::sync::LazyLock;

use axum::http::Method;
pub use doors::{Door, Object, PathId};
use permissions::{Caller, Relationship};

/// One route's row.
#[derive(Debug, Clone)]
pub struct RouteAccess {
    pub method: Method,
    /// The path as the router matches it, e.g. `/api/v1/sites/{site_id}`.
    pub path: &'static str,
    pub door: Door,
    /// What the parameters of the path name.
    pub ids: &'static [PathId],
}

/// The table, one row per declared route (see [`crate::mount::declared`]). Order is
/// irrelevant; (method, path) is unique (tested).
pub fn routes() -> &'static [RouteAccess] {
    static ROUTES: LazyLock<Vec<RouteAccess>> = LazyLock::new(|| {
        crate::mount::declared()
            .map(|route| {
                let meta = route.meta();
                RouteAccess {
                    method: Method::from_bytes(meta.method.as_str().as_bytes())
                        .unwrap_or(Method::GET),
                    path: meta.path,
                    door: meta.door,
                    ids: route.ids(),
                }
            })
            .collect()
    });
    &ROUTES
}

/// The row of a matched route. HEAD is a GET without its body (RFC 9110), behind the same
/// door.
pub fn find(method: &Method, path: &str) -> Option<&'static RouteAccess> {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    routes()
        .iter()
        .find(|r| r.method == *method && r.path == path)
}

/// The ties between `caller` and the object in the route's path the gateway can vouch for
/// (the first id it can place: a municipality, a member or a site), plus those it cannot
/// rule out (left to the service). `param` reads a path parameter by name.
pub fn ties<'a>(
    ids: &[PathId],
    caller: &Caller,
    param: impl Fn(&str) -> Option<&'a str>,
) -> Vec<Relationship> {
    use Relationship as R;
    let placed = ids.iter().find(|id| id.object.is_placed_by_the_gateway());
    match placed.map(|id| (id.object, param(id.name))) {
        Some((Object::Municipality, code)) => {
            let own = code.is_some_and(|code| caller.municipality.as_deref() == Some(code));
            own.then_some(R::OwnMunicipality).into_iter().collect()
        }
        Some((Object::Member, member)) => {
            let mut ties = vec![R::OwnOrganisation, R::OwnMunicipality];
            if member == Some(caller.member_id.as_str()) {
                ties.push(R::Self_);
            }
            ties
        }
        Some((Object::Site, site)) => {
            let mut ties = vec![R::OwnOrganisation, R::OwnMunicipality];
            if site.is_some_and(|site| caller.sites.iter().any(|s| s == site)) {
                ties.push(R::OwnSite);
            }
            ties
        }
        // Nothing the gateway can place: every tie but break-glass (granted by the consent
        // service, never assumed here) is left for the service to check.
        _ => vec![
            R::OnPatientTeam,
            R::RegisteringSite,
            R::OwnSite,
            R::OwnOrganisation,
            R::OwnMunicipality,
            R::Self_,
        ],
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
        let routes = routes();
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
        }
        assert!(routes.len() > 70, "rows: {}", routes.len());
    }

    #[test]
    fn a_route_declares_what_each_parameter_of_its_path_names_and_nothing_else() {
        for r in routes() {
            let in_path: Vec<&str> = r
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: Vec<&str> = r.ids.iter().map(|id| id.name).collect();
            assert_eq!(in_path, declared, "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn no_route_has_two_objects_the_gateway_places() {
        for r in routes() {
            let placed = r
                .ids
                .iter()
                .filter(|id| id.object.is_placed_by_the_gateway())
                .count();
            assert!(
                placed <= 1,
                "{} {}: say in `ties` how two combine",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn head_is_behind_the_door_of_get() {
        let head = find(&Method::HEAD, "/api/v1/municipalities/{code}").expect("a row");
        assert_eq!(head.method, Method::GET);
        assert!(find(&Method::HEAD, "/api/v1/municipalities/{code}/areas").is_none());
    }

    const CODE: &[PathId] = &[PathId::new("code", Object::Municipality)];
    const MEMBER: &[PathId] = &[PathId::new("member_id", Object::Member)];

    #[test]
    fn a_secretariat_has_a_tie_only_to_its_own_municipality() {
        let izumo = caller(&[Role::MunicipalSecretariat], "322032");
        let own = ties(CODE, &izumo, |_| Some("322032"));
        let other = ties(CODE, &izumo, |_| Some("141003"));
        assert_eq!(own, vec![Relationship::OwnMunicipality]);
        assert!(other.is_empty());
    }

    #[test]
    fn self_holds_only_for_the_callers_own_member_id() {
        let nurse = caller(&[Role::Professional], "322032");
        assert!(ties(MEMBER, &nurse, |_| Some("m-1")).contains(&Relationship::Self_));
        assert!(!ties(MEMBER, &nurse, |_| Some("m-2")).contains(&Relationship::Self_));
    }
}
