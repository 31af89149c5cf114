//! The register's routes: operator writes, reads for the region.

use doors::{BodyId, Declared, Door, Object, PathId, PathIds, Route, Written};
use permissions::Action;
use serde::Deserialize;
use utoipa::IntoParams;

use super::*;
use crate::SERVICE;
use crate::endpoints as ep;

const TAG: &str = "municipalities";
const REGISTER: Door = Door::Signed(&[Action::ManageRegister]);
const READ_REGISTER: Door = Door::Signed(&[Action::ReadRegister]);

/// A municipality in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CodePath {
    /// Local government code: 6 digits, the last a check digit (JIS X 0402, modulus 11): a
    /// code whose check digit is wrong is refused (422).
    #[param(pattern = "^(0[1-9]|[1-3][0-9]|4[0-7])[0-9]{4}$")]
    pub code: String,
}

impl PathIds for CodePath {
    const IDS: &'static [PathId] = &[PathId::new("code", Object::Municipality)];
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

impl PathIds for AreaPath {
    const IDS: &'static [PathId] = &[
        PathId::new("code", Object::Municipality),
        PathId::new("area_id", Object::Area),
    ];
}

/// A group in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupPath {
    /// The group's id.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub group_id: String,
}

impl PathIds for GroupPath {
    const IDS: &'static [PathId] = &[PathId::new("group_id", Object::MunicipalityGroup)];
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

impl PathIds for GroupMemberPath {
    const IDS: &'static [PathId] = &[
        PathId::new("group_id", Object::MunicipalityGroup),
        PathId::new("code", Object::Municipality),
    ];
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

/// Why a group names other municipalities: a group (広域連合, a centre's coverage) is a
/// union of municipalities, formed and changed by the operator alone.
const GROUPED: &str =
    "a group is a union of several municipalities; only the operator forms and changes one";

pub fn routes() -> Vec<Declared> {
    vec![
        Route::post("register_municipality", "/api/v1/municipalities")
            .tag(TAG)
            .summary("Register a municipality.")
            .door(REGISTER)
            .body::<RegisterMunicipality>()
            .body_ids(const { &[BodyId::new_id("/code", Object::Municipality)] })
            .service(SERVICE, ep::REGISTER_MUNICIPALITY, |_, _, body| Ok(body))
            .answers::<Written>(201, "registered")
            .problems(&[
                (400, "unreadable body"),
                (401, "no valid credential"),
                (409, "already registered, or a concurrent change"),
                (413, "body too large"),
                (415, "not JSON"),
                (422, "a field is invalid (e.g. wrong check digit)"),
                (503, "a service is unavailable"),
            ])
            .into(),
        Route::get("list_municipalities", "/api/v1/municipalities")
            .tag(TAG)
            .summary("List municipalities in code order, a page at a time.")
            .door(READ_REGISTER)
            .query::<MunicipalityListParams>()
            .service(SERVICE, ep::LIST_MUNICIPALITIES, |_, q, _| {
                Ok(ListMunicipalities {
                    prefecture: q.prefecture,
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<MunicipalityView>(200, "a page")
            .problems(&[
                (400, "bad query"),
                (401, "no valid credential"),
                (422, "a parameter is invalid"),
                (504, "not caught up in time"),
            ])
            .into(),
        Route::get("get_municipality", "/api/v1/municipalities/{code}")
            .tag(TAG)
            .summary("One municipality with its areas and groups.")
            .door(READ_REGISTER)
            .path::<CodePath>()
            .service(SERVICE, ep::GET_MUNICIPALITY, |p, _, _| {
                Ok(GetMunicipality { code: p.code })
            })
            .reads_after()
            .answers::<MunicipalityView>(200, "the municipality")
            .problems(&[
                (401, "no valid credential"),
                (404, "not registered"),
                (422, "not a valid code"),
                (504, "not caught up in time"),
            ])
            .into(),
        Route::patch("rename_municipality", "/api/v1/municipalities/{code}")
            .tag(TAG)
            .summary("Change a municipality's name.")
            .door(REGISTER)
            .path::<CodePath>()
            .body::<MunicipalityNameChange>()
            .service(SERVICE, ep::RENAME_MUNICIPALITY, |p, _, change| {
                Ok(RenameMunicipality {
                    code: p.code,
                    change,
                })
            })
            .answers::<Written>(200, "renamed")
            .problems(&[
                (401, "no valid credential"),
                (404, "not registered"),
                (409, "a concurrent change"),
                (422, "a field is invalid"),
            ])
            .into(),
        Route::post("add_area", "/api/v1/municipalities/{code}/areas")
            .tag(TAG)
            .summary("Add a ward or daily-life area.")
            .door(REGISTER)
            .path::<CodePath>()
            .body::<NewArea>()
            .body_ids(const { &[BodyId::new_id("/area_id", Object::Area)] })
            .service(SERVICE, ep::ADD_AREA, |p, _, area| {
                Ok(AddArea { code: p.code, area })
            })
            .answers::<Written>(201, "added")
            .problems(&[
                (401, "no valid credential"),
                (404, "municipality not registered"),
                (409, "area exists, or a concurrent change"),
                (422, "a field is invalid"),
            ])
            .into(),
        Route::delete(
            "remove_area",
            "/api/v1/municipalities/{code}/areas/{area_id}",
        )
        .tag(TAG)
        .summary("Remove an area.")
        .door(REGISTER)
        .path::<AreaPath>()
        .service(SERVICE, ep::REMOVE_AREA, |p, _, _| {
            Ok(RemoveArea {
                code: p.code,
                area_id: p.area_id,
            })
        })
        .answers::<Written>(200, "removed")
        .problems(&[
            (401, "no valid credential"),
            (404, "no such municipality or area"),
            (409, "a concurrent change"),
        ])
        .into(),
        Route::post("form_group", "/api/v1/municipality-groups")
            .tag(TAG)
            .summary("Form a group of municipalities.")
            .door(REGISTER)
            .body::<FormGroup>()
            .body_ids(
                const {
                    &[
                        BodyId::new_id("/group_id", Object::MunicipalityGroup),
                        BodyId::crossing("/members/*", Object::Municipality, GROUPED),
                    ]
                },
            )
            .service(SERVICE, ep::FORM_GROUP, |_, _, body| Ok(body))
            .answers::<Written>(201, "formed")
            .problems(&[
                (401, "no valid credential"),
                (409, "group exists"),
                (422, "a field is invalid (e.g. an unregistered member)"),
            ])
            .into(),
        Route::get("list_groups", "/api/v1/municipality-groups")
            .tag(TAG)
            .summary("List groups in id order, a page at a time.")
            .door(READ_REGISTER)
            .query::<GroupListParams>()
            .service(SERVICE, ep::LIST_GROUPS, |_, q, _| {
                Ok(ListGroups {
                    after: q.after,
                    limit: q.limit,
                })
            })
            .reads_after()
            .answers_page::<GroupView>(200, "a page")
            .problems(&[
                (400, "bad query"),
                (401, "no valid credential"),
                (422, "a parameter is invalid"),
            ])
            .into(),
        Route::get("get_group", "/api/v1/municipality-groups/{group_id}")
            .tag(TAG)
            .summary("One group with its members.")
            .door(READ_REGISTER)
            .path::<GroupPath>()
            .service(SERVICE, ep::GET_GROUP, |p, _, _| {
                Ok(GetGroup {
                    group_id: p.group_id,
                })
            })
            .reads_after()
            .answers::<GroupView>(200, "the group")
            .problems(&[
                (401, "no valid credential"),
                (404, "no such group"),
                (422, "not a valid id"),
            ])
            .into(),
        Route::post(
            "join_group",
            "/api/v1/municipality-groups/{group_id}/members",
        )
        .tag(TAG)
        .summary("Add a municipality to a group.")
        .door(REGISTER)
        .path::<GroupPath>()
        .body::<NewGroupMember>()
        .body_ids(const { &[BodyId::crossing("/code", Object::Municipality, GROUPED)] })
        .service(SERVICE, ep::JOIN_GROUP, |p, _, member| {
            Ok(GroupMembership {
                group_id: p.group_id,
                code: member.code,
            })
        })
        .answers::<Written>(201, "joined")
        .problems(&[
            (401, "no valid credential"),
            (404, "no such group"),
            (409, "already a member"),
            (422, "not a registered municipality"),
        ])
        .into(),
        Route::delete(
            "leave_group",
            "/api/v1/municipality-groups/{group_id}/members/{code}",
        )
        .tag(TAG)
        .summary("Take a municipality out of a group.")
        .door(REGISTER)
        .path::<GroupMemberPath>()
        .service(SERVICE, ep::LEAVE_GROUP, |p, _, _| {
            Ok(GroupMembership {
                group_id: p.group_id,
                code: p.code,
            })
        })
        .answers::<Written>(200, "left")
        .problems(&[
            (401, "no valid credential"),
            (404, "no such group or member"),
        ])
        .into(),
    ]
}
