//! The OpenAPI schemas of the domain's closed lists (professions, team parts, data
//! categories…), written from the lists themselves: the document names exactly the values
//! the services accept, and a new value appears there without anyone remembering to.

use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

fn one_of(values: impl Iterator<Item = &'static str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.collect::<Vec<_>>()))
        .build()
}

pub fn profession() -> Object {
    one_of(permissions::Profession::ALL.iter().map(|v| v.as_str()))
}

pub fn team_part() -> Object {
    one_of(consent::TeamPart::ALL.iter().map(|v| v.as_str()))
}

pub fn family_relationship() -> Object {
    one_of(consent::FamilyRelationship::ALL.iter().map(|v| v.as_str()))
}

pub fn consent_status() -> Object {
    one_of(consent::ConsentStatus::ALL.iter().map(|v| v.as_str()))
}

pub fn data_category() -> Object {
    one_of(consent::DataCategory::ALL.iter().map(|v| v.as_str()))
}

pub fn purpose() -> Object {
    one_of(consent::Purpose::ALL.iter().map(|v| v.as_str()))
}

/// Roles, as a set: at least one, each a role's name.
pub fn roles() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(one_of(permissions::Role::ALL.iter().map(|v| v.as_str())))
        .min_items(Some(1))
        .description(Some("Roles (at least one), by name."))
        .build()
}

pub fn team_parts() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(team_part())
        .build()
}
