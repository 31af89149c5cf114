//! Schemas as the OpenAPI document names them: collected while operations are written, a
//! generic type named as utoipa names it.

use std::any::TypeId;

use utoipa::ToSchema;
use utoipa::openapi::{RefOr, schema::Schema};

/// The named schemas a document collects while its operations are written.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// `T`'s schema as a document refers to it: by name (registering it and the schemas it
/// refers to), or written in place for a string or any JSON value. A generic type is named as
/// utoipa names it (`Page<SiteView>` is `Page_SiteView`).
pub(crate) fn schema_of<T: ToSchema + 'static>(schemas: &mut Schemas) -> RefOr<Schema> {
    let t = TypeId::of::<T>();
    if t == TypeId::of::<String>() || t == TypeId::of::<serde_json::Value>() {
        return T::schema();
    }
    let name = schema_name::<T>();
    schemas.push((name.clone(), T::schema()));
    T::schemas(schemas);
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

pub(crate) fn schema_name<T: ToSchema>() -> String {
    let full = std::any::type_name::<T>();
    let Some((_, arguments)) = full.split_once('<') else {
        return T::name().into_owned();
    };
    let mut name = T::name().into_owned();
    for argument in arguments.split(['<', '>', ',']) {
        let argument = argument.trim();
        if !argument.is_empty() {
            name.push('_');
            name.push_str(argument.rsplit("::").next().unwrap_or(argument));
        }
    }
    name
}
