//! 介護保険サービス種類: the public service type codes of the long-term care insurance, as
//! a site lists them (e.g. `13` home-visit nursing). The list is `data/service_types.tsv`,
//! compiled into the contract so every service and the gateway read the same codes.

use std::sync::LazyLock;

use serde::Serialize;
use utoipa::ToSchema;

/// One service type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ServiceType {
    /// Its code: two characters, digits or a digit and a capital letter (`2A`).
    #[schema(example = "13")]
    pub code: &'static str,
    /// Its name in Japanese, e.g. 訪問看護.
    pub name_ja: &'static str,
    /// Its name in English, e.g. home-visit nursing.
    pub name_en: &'static str,
    /// A coarse grouping: `home`, `day`, `short_stay`, `residential`, `care_management`…
    pub group: &'static str,
}

const TSV: &str = include_str!("../data/service_types.tsv");

static TYPES: LazyLock<Vec<ServiceType>> = LazyLock::new(|| parse(TSV));

/// Reads the table: a header line, then `code name_ja name_en group` separated by tabs.
/// Lines that do not have four fields are skipped (a test checks there are none).
fn parse(tsv: &'static str) -> Vec<ServiceType> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t').map(str::trim);
            let t = ServiceType {
                code: fields.next().filter(|c| !c.is_empty())?,
                name_ja: fields.next()?,
                name_en: fields.next()?,
                group: fields.next()?,
            };
            fields.next().is_none().then_some(t)
        })
        .collect()
}

/// Every service type, in the table's order (by code).
pub fn all() -> &'static [ServiceType] {
    &TYPES
}

/// A service type code in the API document: one of the listed codes, exactly as listed.
pub fn code_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(all().iter().map(|t| t.code)))
        .description(Some(
            "A service type code of the long-term care insurance (介護保険サービス種類, e.g. `13` 訪問看護).",
        ))
        .build()
}

/// The service type with this code (exactly as listed, e.g. `2A`, not `2a`).
pub fn find(code: &str) -> Option<&'static ServiceType> {
    TYPES.iter().find(|t| t.code == code)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_line_of_the_table_is_a_service_type_with_a_unique_code() {
        let lines = TSV.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        assert_eq!(all().len(), lines, "a line of the table did not parse");
        let codes: BTreeSet<&str> = all().iter().map(|t| t.code).collect();
        assert_eq!(codes.len(), all().len(), "codes are unique");
        assert!(all().iter().all(|t| {
            t.code.len() == 2
                && t.code
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        }));
    }

    #[test]
    fn home_visit_nursing_is_thirteen_and_care_management_forty_three() {
        assert_eq!(find("13").map(|t| t.name_ja), Some("訪問看護"));
        assert_eq!(find("43").map(|t| t.name_en), Some("care management"));
        assert_eq!(find("2A").map(|t| t.group), Some("short_stay"));
        assert!(find("99").is_none());
    }
}
