//! The ids a request body carries, held to the caller's municipality before the service
//! acts. Each route declares its body's ids beside its contract (`doors::BodyId`, as its
//! path ids); this is the one place that reads those declarations, so a route that takes
//! an id in its body cannot forget the check.
//!
//! An id declared [`Scope::Own`] must name an object of the caller's own municipality. A
//! municipality's code the token tells; sites, organisations, members and patients are
//! placed by their register, the identity service, in one bus call; a file (by its digest)
//! must be one the caller or their site holds in the file store. An id of another
//! municipality is answered exactly as an id that names nothing (422 naming the field), so
//! the answer tells nothing of the other municipality, and nothing is stored. The operator
//! acts for the whole region, and ids declared as crossing municipalities on purpose are the
//! service's to hold (see ARCHITECTURE.md).

use bus::{CallContext, Reply};
use doors::{BodyId, Object, Scope};
use identity_api::places::{ObjectRef, PLACE_OBJECTS, PlaceObjects, PlacedKind, Places};
use permissions::Caller;
use problem::Problem;

use crate::state::AppState;

/// The answer to an id that names nothing the caller may name.
pub fn no_such(pointer: &str, object: Object) -> Problem {
    match object {
        Object::File => {
            Problem::invalid_field(pointer, "no file you or your site uploaded has this digest")
        }
        object => Problem::invalid_field(pointer, format!("no {} has this id", object.noun())),
    }
}

/// Refuses the body when one of its ids declared [`Scope::Own`] is not of the caller's
/// municipality (or names nothing); the first such id in declaration order is named.
pub async fn hold_to_caller(
    state: &AppState,
    ctx: &CallContext,
    caller: &Caller,
    ids: &[BodyId],
    body: &[u8],
) -> Result<(), Problem> {
    // The operator acts for the region, signed in as a member or with the bootstrap
    // credential (which never reaches here).
    if caller.subject.has_role(permissions::Role::Operator) {
        return Ok(());
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        // The route's reader has already refused a body that is not JSON.
        return Ok(());
    };
    let found: Vec<(String, Object, String)> = ids
        .iter()
        .filter(|id| id.scope == Scope::Own)
        .flat_map(|id| {
            id.found_in(&body)
                .into_iter()
                .map(|(pointer, value)| (pointer, id.object, value.to_owned()))
        })
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    let own = caller.municipality.as_deref();
    let placed = place(state, ctx, &found).await?;
    let holders = crate::routes::files::holders(caller);
    for ((pointer, object, id), municipality) in found.iter().zip(placed) {
        let theirs = match object {
            // A digest is not a permission: a file is the caller's when they or their site
            // hold it in the file store.
            Object::File => {
                blob_store::is_sha256_hex(id)
                    && state
                        .blobs
                        .held_by_any(id, &holders)
                        .await
                        .map_err(crate::routes::files::problem)?
            }
            _ => municipality.is_some() && municipality.as_deref() == own,
        };
        if !theirs {
            return Err(no_such(pointer, *object));
        }
    }
    Ok(())
}

/// The municipality of each id: a code is its own; the rest the register tells.
async fn place(
    state: &AppState,
    ctx: &CallContext,
    found: &[(String, Object, String)],
) -> Result<Vec<Option<String>>, Problem> {
    let kind = |object: Object| match object {
        Object::Site => Some(PlacedKind::Site),
        Object::Organisation => Some(PlacedKind::Organisation),
        Object::Member => Some(PlacedKind::Member),
        Object::Patient => Some(PlacedKind::Patient),
        _ => None,
    };
    let objects: Vec<ObjectRef> = found
        .iter()
        .filter_map(|(_, object, id)| {
            kind(*object).map(|kind| ObjectRef {
                kind,
                id: id.clone(),
            })
        })
        .collect();
    let mut placed = if objects.is_empty() {
        Vec::new()
    } else {
        let request = PlaceObjects { objects };
        let request = serde_json::to_value(&request).map_err(|_| Problem::internal())?;
        match state
            .bus
            .call(identity_api::SERVICE, PLACE_OBJECTS, ctx, &request)
            .await
        {
            Reply::Ok { value, .. } => {
                serde_json::from_value::<Places>(value)
                    .map_err(|_| Problem::internal())?
                    .municipalities
            }
            Reply::Problem(p) => return Err(p),
        }
    }
    .into_iter();
    Ok(found
        .iter()
        .map(|(_, object, id)| match object {
            Object::Municipality => Some(id.clone()),
            object if kind(*object).is_some() => placed.next().flatten(),
            // An object no register places cannot be held to a municipality: declared
            // `Own`, it is refused (a test keeps such declarations out).
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use doors::Call;
    use serde_json::Value;

    use super::*;

    /// Fields whose name says "an id" and which are not one, with what they are.
    const NOT_IDS: &[(&str, &str, &str)] = &[
        ("sign_in", "/code", "a second-factor code"),
        ("confirm_second_factor", "/code", "a second-factor code"),
    ];

    /// Routes answered by a handler of the gateway that holds its body's ids itself.
    const HANDLERS_THAT_HOLD_THEIR_IDS: &[&str] = &["attach_document"];

    fn id_like(name: &str) -> bool {
        const NAMES: &[&str] = &[
            "site",
            "sites",
            "member",
            "members",
            "municipality",
            "municipalities",
            "organisation",
            "patient",
            "code",
            "excluded",
            "sha256",
            "scanned_form",
        ];
        const ENDINGS: &[&str] = &[
            "_id",
            "_ids",
            "_site",
            "_sites",
            "_municipality",
            "_served",
            "_member",
            "_patient",
            "_file",
        ];
        NAMES.contains(&name) || ENDINGS.iter().any(|e| name.ends_with(e))
    }

    /// The pointer of every property of `schema` (references followed, arrays as `*`).
    fn pointers(doc: &Value, schema: &Value, at: &str, out: &mut BTreeSet<String>, depth: u8) {
        if depth > 8 {
            return;
        }
        if let Some(r) = schema["$ref"].as_str() {
            let name = r.trim_start_matches("#/components/schemas/");
            return pointers(doc, &doc[name], at, out, depth + 1);
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let here = format!("{at}/{name}");
            out.insert(here.clone());
            pointers(doc, property, &here, out, depth + 1);
        }
        if schema.get("items").is_some() {
            let items = format!("{at}/*");
            out.insert(items.clone());
            pointers(doc, &schema["items"], &items, out, depth + 1);
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for part in schema[key].as_array().into_iter().flatten() {
                pointers(doc, part, at, out, depth + 1);
            }
        }
    }

    #[test]
    fn every_field_of_a_body_that_names_an_object_is_declared_and_every_declaration_is_a_field() {
        let mut undeclared = Vec::new();
        let mut stale = Vec::new();
        let mut declared_count = 0;
        for route in crate::mount::declared() {
            let meta = route.meta();
            let mut schemas = Vec::new();
            let op = serde_json::to_value(route.operation(&mut schemas)).unwrap();
            let Some(body) = op["requestBody"]["content"]["application/json"].get("schema") else {
                assert!(
                    route.body_ids().is_empty(),
                    "{}: body ids without a JSON body",
                    meta.operation_id
                );
                continue;
            };
            let doc: Value = schemas
                .iter()
                .map(|(name, schema)| (name.clone(), serde_json::to_value(schema).unwrap()))
                .collect::<serde_json::Map<_, _>>()
                .into();
            let mut fields = BTreeSet::new();
            pointers(&doc, body, "", &mut fields, 0);
            let declared: BTreeSet<&str> = route.body_ids().iter().map(|id| id.pointer).collect();
            declared_count += declared.len();
            for field in &fields {
                let name = field.rsplit('/').find(|s| *s != "*").unwrap_or_default();
                let excused = NOT_IDS
                    .iter()
                    .any(|(op, at, _)| *op == meta.operation_id && at == field);
                // An array of ids is declared by its items (`/sites/*`).
                let covered = declared.contains(field.as_str())
                    || declared.contains(format!("{field}/*").as_str());
                if id_like(name) && !covered && !excused {
                    undeclared.push(format!("{} {field}", meta.operation_id));
                }
            }
            for pointer in declared {
                if !fields.contains(pointer) {
                    stale.push(format!("{} {pointer}", meta.operation_id));
                }
            }
        }
        assert!(
            undeclared.is_empty(),
            "body fields that name an object, without a declaration (`Route::body_ids`): {undeclared:?}"
        );
        assert!(stale.is_empty(), "declared body ids no body has: {stale:?}");
        assert!(declared_count >= 20, "body ids declared: {declared_count}");
    }

    #[test]
    fn an_own_id_names_what_the_gateway_can_place_and_is_held_on_every_path() {
        for route in crate::mount::declared() {
            let meta = route.meta();
            for id in route.body_ids().iter().filter(|id| id.scope == Scope::Own) {
                assert!(
                    matches!(
                        id.object,
                        Object::Municipality
                            | Object::Site
                            | Object::Organisation
                            | Object::Member
                            | Object::Patient
                            | Object::File
                    ),
                    "{} {}: nothing places a {}",
                    meta.operation_id,
                    id.pointer,
                    id.object.noun()
                );
                // The mounted forwarder holds a service route's ids; a gateway handler must
                // hold its own.
                assert!(
                    matches!(meta.call, Call::Service { .. })
                        || HANDLERS_THAT_HOLD_THEIR_IDS.contains(&meta.operation_id),
                    "{}: a gateway handler that does not hold {} to the caller",
                    meta.operation_id,
                    id.pointer
                );
            }
        }
    }

    #[test]
    fn another_municipalitys_id_and_an_unknown_one_get_the_same_answer() {
        // Both are `no_such`: the answer depends on the field and the kind only.
        let a = serde_json::to_value(no_such("/sites/0", Object::Site)).unwrap();
        assert_eq!(a["status"], 422);
        assert_eq!(a["errors"][0]["pointer"], "/sites/0");
        assert!(!a.to_string().contains("141003"));
    }
}
