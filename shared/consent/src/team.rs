//! The patient's care team: which sites, and which of their members, look after the patient
//! and in what part.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{MemberId, MembershipId, SiteId};

closed_list! {
    /// A seat's part on the team, in the words the team uses.
    pub enum TeamPart {
        /// ケアマネジャー (居宅介護支援事業所, or the community support centre for people at
        /// support level): writes the care plan and composes the team.
        CareManager = "care_manager",
        /// 在宅主治医・かかりつけ医: the home doctor.
        HomeDoctor = "home_doctor",
        /// 病院 (主治医, 地域連携室): the hospital before and after a stay.
        Hospital = "hospital",
        /// 訪問看護: the home-visit nursing station (often the 24-hour contact).
        VisitingNurse = "visiting_nurse",
        /// 薬局 (訪問薬剤管理指導, かかりつけ薬剤師).
        Pharmacy = "pharmacy",
        /// 訪問歯科: home-visit dentistry and dental hygiene.
        Dentist = "dentist",
        /// 訪問リハビリ: physical, occupational or speech therapy at home.
        Rehabilitation = "rehabilitation",
        /// 訪問介護: home helpers.
        HomeHelper = "home_helper",
        /// 通所介護・通所リハ: day service.
        DayService = "day_service",
        /// 短期入所: short stay.
        ShortStay = "short_stay",
        /// 福祉用具: welfare equipment.
        WelfareEquipment = "welfare_equipment",
        /// 地域包括支援センター: the community general support centre.
        CommunitySupportCentre = "community_support_centre",
        /// Anyone else on the team.
        Other = "other",
    }
}

/// One seat on a patient's team.
///
/// A seat always names a **site**, because consent names sites: a member is on the team for
/// a site, and the consent must cover that site. With `member: None` the whole site holds the
/// seat (every member working there: the nursing station's rota); with a member, only that
/// member, and only while they work at that site.
///
/// `since` and `until` are the instants the seat takes effect and ends ("on the team since
/// 1 October"), which may be earlier than when they were recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMembership {
    /// The seat.
    pub membership_id: MembershipId,
    /// The site the seat belongs to.
    pub site: SiteId,
    /// The member holding it, or `None` for the whole site.
    pub member: Option<MemberId>,
    /// Their part on the team.
    pub part: TeamPart,
    /// On the team from this instant.
    pub since: DateTime<Utc>,
    /// Off the team from this instant (`None`: still on it).
    pub until: Option<DateTime<Utc>>,
}

impl TeamMembership {
    /// Is the seat held at `at`?
    pub fn held_at(&self, at: DateTime<Utc>) -> bool {
        self.since <= at && self.until.is_none_or(|until| at < until)
    }

    /// Does a member working at `sites` sit in this seat (whether or not it is held now)?
    pub fn seats(&self, member_id: &str, sites: &[String]) -> bool {
        self.member.as_ref().is_none_or(|m| m == member_id) && sites.iter().any(|s| self.site == *s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn seat(member: Option<&str>) -> TeamMembership {
        TeamMembership {
            membership_id: "seat-1".into(),
            site: "nursing".into(),
            member: member.map(MemberId::from),
            part: TeamPart::VisitingNurse,
            since: at("2026-10-01T00:00:00Z"),
            until: Some(at("2026-11-01T00:00:00Z")),
        }
    }

    #[test]
    fn a_whole_site_seat_seats_everyone_working_there_and_a_named_seat_only_that_member() {
        let here = vec!["nursing".to_owned()];
        let elsewhere = vec!["clinic".to_owned()];
        assert!(seat(None).seats("anyone", &here));
        assert!(!seat(None).seats("anyone", &elsewhere));
        assert!(seat(Some("hanako")).seats("hanako", &here));
        assert!(!seat(Some("hanako")).seats("jiro", &here));
        assert!(!seat(Some("hanako")).seats("hanako", &elsewhere));
    }

    #[test]
    fn a_seat_is_held_from_since_until_until() {
        let s = seat(None);
        assert!(!s.held_at(at("2026-09-30T23:59:59Z")));
        assert!(s.held_at(at("2026-10-01T00:00:00Z")));
        assert!(s.held_at(at("2026-10-31T23:59:59Z")));
        assert!(!s.held_at(at("2026-11-01T00:00:00Z")));
    }
}
