//! People and places by name, for readers of the log: each member's and site's name as the
//! log's own registration records last said it (`audit_log.names`), shown where the reader
//! may see it and otherwise withheld with the reason.

use std::collections::HashMap;

use audit_api::NameView;
use tokio_postgres::GenericClient;

use crate::scope::Scope;

/// Names found for a set of ids.
#[derive(Debug, Default)]
pub struct Names {
    found: HashMap<(String, String), Found>,
}

#[derive(Debug)]
struct Found {
    name: String,
    profession: Option<String>,
    municipality: Option<String>,
}

impl Names {
    /// The names of these members and sites (one query).
    pub async fn of(
        client: &impl GenericClient,
        members: &[String],
        sites: &[String],
    ) -> Result<Self, tokio_postgres::Error> {
        if members.is_empty() && sites.is_empty() {
            return Ok(Self::default());
        }
        let rows = client
            .query(
                "SELECT kind, id, name, profession, municipality FROM names
                  WHERE (kind = 'member' AND id = ANY($1)) OR (kind = 'site' AND id = ANY($2))",
                &[&members, &sites],
            )
            .await?;
        Ok(Self {
            found: rows
                .iter()
                .map(|r| {
                    (
                        (r.get(0), r.get(1)),
                        Found {
                            name: r.get(2),
                            profession: r.get(3),
                            municipality: r.get(4),
                        },
                    )
                })
                .collect(),
        })
    }

    /// A member as `scope` is shown them.
    pub fn member(&self, id: &str, scope: &Scope) -> NameView {
        self.view("member", id, scope)
    }

    /// A site as `scope` is shown it.
    pub fn site(&self, id: &str, scope: &Scope) -> NameView {
        self.view("site", id, scope)
    }

    fn view(&self, kind: &str, id: &str, scope: &Scope) -> NameView {
        let withheld = |why: &str| NameView {
            id: id.to_owned(),
            name: None,
            profession: None,
            withheld: Some(why.to_owned()),
        };
        let Some(found) = self.found.get(&(kind.to_owned(), id.to_owned())) else {
            return withheld("unknown");
        };
        if !scope.sees_names_in(found.municipality.as_deref()) {
            return withheld("other_municipality");
        }
        NameView {
            id: id.to_owned(),
            name: Some(found.name.clone()),
            profession: found.profession.clone(),
            withheld: None,
        }
    }
}
