//! A site's status: checked before it is stored, fresh for a configured time, said by the
//! site's own staff or a site admin of the organisation that runs it.

use chrono::{DateTime, Duration, Utc};
use directory_api::availability::{Accepting, AvailabilityUpdate, Listing};
use permissions::{Caller, Role};

/// A field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub reason: &'static str,
}

fn invalid(field: impl Into<String>, reason: &'static str) -> Invalid {
    Invalid {
        field: field.into(),
        reason,
    }
}

pub const MAX_CONDITIONS: usize = 500;
pub const MAX_VACANCIES: usize = 20;
pub const MAX_COUNT: u32 = 999;

/// The update as it will be stored: conditions trimmed (none when empty), every number and
/// period in range, conditions given when the answer is "with conditions".
pub fn checked(mut update: AvailabilityUpdate) -> Result<AvailabilityUpdate, Invalid> {
    update.conditions = update
        .conditions
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    match &update.conditions {
        None if update.accepting == Accepting::Conditional => {
            return Err(invalid(
                "/conditions",
                "say which conditions: they are what a care manager reads",
            ));
        }
        Some(c) if c.chars().count() > MAX_CONDITIONS => {
            return Err(invalid(
                "/conditions",
                "conditions are at most 500 characters",
            ));
        }
        // Line breaks and tabs are text; every other control character is not.
        Some(c)
            if c.chars()
                .any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) =>
        {
            return Err(invalid(
                "/conditions",
                "conditions are text, without control characters",
            ));
        }
        _ => {}
    }
    if update.new_clients.is_some_and(|n| n > MAX_COUNT) {
        return Err(invalid("/new_clients", "new clients are 0 to 999"));
    }
    if update.vacancies.len() > MAX_VACANCIES {
        return Err(invalid("/vacancies", "at most 20 periods"));
    }
    for (i, v) in update.vacancies.iter().enumerate() {
        if v.until < v.from {
            return Err(invalid(
                format!("/vacancies/{i}/until"),
                "a period ends on or after its first day",
            ));
        }
        if v.beds == 0 || v.beds > MAX_COUNT {
            return Err(invalid(format!("/vacancies/{i}/beds"), "beds are 1 to 999"));
        }
    }
    Ok(update)
}

/// How fresh a status said at `said` is at `now`: until when, whether it still is, and its
/// age in whole days.
pub fn freshness(
    said: DateTime<Utc>,
    now: DateTime<Utc>,
    fresh_for: Duration,
) -> (DateTime<Utc>, bool, i64) {
    let until = said + fresh_for;
    (until, now < until, (now - said).num_days().max(0))
}

/// The site a status is for, as the register places it.
pub struct SiteFacts<'a> {
    pub site_id: &'a str,
    pub municipality: &'a str,
    pub organisation_id: &'a str,
}

/// What the directory answers a caller about a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum May {
    Update,
    /// Not theirs: 403.
    NotTheirs,
    /// Another municipality's: answered as a site nobody has.
    Elsewhere,
}

/// Whether `caller` may say the status of `site`: its own staff, or a site admin of the
/// organisation that runs it (`their_organisations`: the organisations of the caller's
/// sites). The operator's own credential has no caller.
pub fn may_update(
    caller: Option<&Caller>,
    site: &SiteFacts<'_>,
    their_organisations: &[String],
) -> May {
    let Some(c) = caller else {
        return May::Update;
    };
    if c.subject.has_role(Role::Operator) {
        return May::Update;
    }
    if c.municipality.as_deref() != Some(site.municipality)
        && !c.sites.iter().any(|s| s == site.site_id)
    {
        return May::Elsewhere;
    }
    if c.sites.iter().any(|s| s == site.site_id) {
        return May::Update;
    }
    if c.subject.has_role(Role::SiteAdmin)
        && their_organisations
            .iter()
            .any(|o| o == site.organisation_id)
    {
        return May::Update;
    }
    May::NotTheirs
}

/// The listing as it will be stored: texts trimmed (none when empty), a coordinate only with
/// its pair and in range, each capability once, every text within its length.
pub fn checked_listing(mut listing: Listing) -> Result<Listing, Invalid> {
    let trimmed = |t: Option<String>| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    listing.opening_hours = trimmed(listing.opening_hours);
    listing.description = trimmed(listing.description);
    match (listing.latitude, listing.longitude) {
        (Some(lat), _) if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() => {
            return Err(invalid("/latitude", "a latitude is -90 to 90 degrees"));
        }
        (_, Some(lon)) if !(-180.0..=180.0).contains(&lon) || !lon.is_finite() => {
            return Err(invalid("/longitude", "a longitude is -180 to 180 degrees"));
        }
        (Some(_), None) => {
            return Err(invalid("/longitude", "a latitude comes with its longitude"));
        }
        (None, Some(_)) => return Err(invalid("/latitude", "a longitude comes with its latitude")),
        _ => {}
    }
    if listing
        .opening_hours
        .as_ref()
        .is_some_and(|h| h.chars().count() > 200)
    {
        return Err(invalid(
            "/opening_hours",
            "opening hours are at most 200 characters",
        ));
    }
    if listing
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        return Err(invalid(
            "/description",
            "a description is at most 1,000 characters",
        ));
    }
    if listing.capacity.is_some_and(|c| c > 9999) {
        return Err(invalid("/capacity", "a capacity is 0 to 9,999"));
    }
    for (i, c) in listing.capabilities.iter().enumerate() {
        if listing.capabilities[..i].contains(c) {
            return Err(invalid(
                format!("/capabilities/{i}"),
                "each capability once",
            ));
        }
    }
    if listing.capabilities.len() > 10 {
        return Err(invalid("/capabilities", "at most 10 capabilities"));
    }
    if listing.languages.len() > 10 {
        return Err(invalid("/languages", "at most 10 languages"));
    }
    listing.languages = listing
        .languages
        .into_iter()
        .map(|l| l.trim().to_owned())
        .collect();
    for (i, l) in listing.languages.iter().enumerate() {
        if l.is_empty() || l.chars().count() > 30 {
            return Err(invalid(
                format!("/languages/{i}"),
                "a language is 1 to 30 characters",
            ));
        }
    }
    Ok(listing)
}

/// Whether `caller` may change the listing of `site`: the secretariat of its municipality,
/// a site admin of the organisation that runs it, the operator.
pub fn may_change_listing(
    caller: Option<&Caller>,
    site: &SiteFacts<'_>,
    their_organisations: &[String],
) -> May {
    let Some(c) = caller else {
        return May::Update;
    };
    if c.subject.has_role(Role::Operator) {
        return May::Update;
    }
    if c.municipality.as_deref() != Some(site.municipality) {
        return May::Elsewhere;
    }
    if c.subject.has_role(Role::MunicipalSecretariat) {
        return May::Update;
    }
    if c.subject.has_role(Role::SiteAdmin)
        && their_organisations
            .iter()
            .any(|o| o == site.organisation_id)
    {
        return May::Update;
    }
    May::NotTheirs
}

/// Whether `caller` reads the statuses of `municipality` (their own; the operator all).
pub fn reads(caller: Option<&Caller>, municipality: &str) -> bool {
    caller.is_none_or(|c| {
        c.subject.has_role(Role::Operator) || c.municipality.as_deref() == Some(municipality)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use directory_api::availability::Capability;

    fn listing() -> Listing {
        Listing {
            latitude: Some(35.367),
            longitude: Some(132.755),
            opening_hours: Some(" 平日 8:30〜17:30 ".into()),
            capacity: Some(20),
            capabilities: vec![Capability::Suction, Capability::TerminalCare],
            languages: vec!["英語".into()],
            description: None,
        }
    }

    #[test]
    fn a_listing_holds_coordinates_in_range_and_in_pairs_and_each_capability_once() {
        assert_eq!(
            checked_listing(listing()).unwrap().opening_hours.as_deref(),
            Some("平日 8:30〜17:30")
        );
        let mut far = listing();
        far.latitude = Some(95.0);
        assert_eq!(checked_listing(far).unwrap_err().field, "/latitude");
        let mut half = listing();
        half.longitude = None;
        assert_eq!(checked_listing(half).unwrap_err().field, "/longitude");
        let mut twice = listing();
        twice.capabilities.push(Capability::Suction);
        assert_eq!(checked_listing(twice).unwrap_err().field, "/capabilities/2");
    }
    use chrono::NaiveDate;
    use directory_api::availability::Vacancy;
    use permissions::Subject;

    fn update(accepting: Accepting, conditions: Option<&str>) -> AvailabilityUpdate {
        AvailabilityUpdate {
            accepting,
            conditions: conditions.map(str::to_owned),
            new_clients: None,
            vacancies: vec![],
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).expect("a day")
    }

    #[test]
    fn with_conditions_means_saying_them() {
        let refused = checked(update(Accepting::Conditional, Some("  "))).unwrap_err();
        assert_eq!(refused.field, "/conditions");
        let kept = checked(update(Accepting::Conditional, Some(" 要介護3まで "))).unwrap();
        assert_eq!(kept.conditions.as_deref(), Some("要介護3まで"));
        assert_eq!(
            checked(update(Accepting::Yes, Some("")))
                .unwrap()
                .conditions,
            None
        );
    }

    #[test]
    fn a_period_ends_after_it_starts_and_holds_a_bed() {
        let mut u = update(Accepting::Yes, None);
        u.vacancies = vec![Vacancy {
            from: day(3),
            until: day(2),
            beds: 1,
        }];
        assert_eq!(checked(u.clone()).unwrap_err().field, "/vacancies/0/until");
        u.vacancies = vec![Vacancy {
            from: day(2),
            until: day(2),
            beds: 0,
        }];
        assert_eq!(checked(u.clone()).unwrap_err().field, "/vacancies/0/beds");
        u.vacancies = vec![Vacancy {
            from: day(2),
            until: day(9),
            beds: 2,
        }];
        assert!(checked(u).is_ok());
    }

    #[test]
    fn a_status_is_fresh_for_its_time_then_stale_with_its_age() {
        let said = DateTime::parse_from_rfc3339("2026-10-01T09:00:00+09:00")
            .unwrap()
            .to_utc();
        let week = Duration::days(7);
        assert!(freshness(said, said + Duration::days(6), week).1);
        let (until, fresh, age) = freshness(said, said + Duration::days(9), week);
        assert_eq!((until, fresh, age), (said + week, false, 9));
    }

    fn caller(roles: Vec<Role>, sites: &[&str], municipality: &str) -> Caller {
        Caller {
            member_id: "m".into(),
            session_id: "s".into(),
            subject: Subject::new(roles, None),
            sites: sites.iter().map(|s| (*s).to_owned()).collect(),
            municipality: Some(municipality.into()),
        }
    }

    #[test]
    fn the_sites_staff_and_its_organisations_admins_say_its_status_and_no_one_else() {
        let site = SiteFacts {
            site_id: "office",
            municipality: "322032",
            organisation_id: "org",
        };
        let staff = caller(vec![Role::Professional], &["office"], "322032");
        assert_eq!(may_update(Some(&staff), &site, &[]), May::Update);
        let admin = caller(vec![Role::SiteAdmin], &["other"], "322032");
        assert_eq!(
            may_update(Some(&admin), &site, &["org".into()]),
            May::Update
        );
        assert_eq!(
            may_update(Some(&admin), &site, &["else".into()]),
            May::NotTheirs
        );
        let stranger = caller(vec![Role::Professional], &["other"], "322032");
        assert_eq!(may_update(Some(&stranger), &site, &[]), May::NotTheirs);
        let yokohama = caller(vec![Role::SiteAdmin], &["y"], "141003");
        assert_eq!(
            may_update(Some(&yokohama), &site, &["org".into()]),
            May::Elsewhere
        );
        assert!(!reads(Some(&yokohama), "322032"));
        assert!(reads(Some(&staff), "322032"));
    }
}
