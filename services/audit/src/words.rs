//! The printable report's words: a patient or their family reads it, so it says who, where,
//! what and why in Japanese, without the ids that prove each line (the JSON report and the
//! log keep those).

/// What was read, in words.
pub fn what(item: &str) -> String {
    let known = match item {
        "care_records" => "経過・介護記録",
        "medication" => "処方・服薬",
        "lab_results" => "検査結果",
        "documents" => "文書",
        "care_plan" => "ケアプラン",
        "photos_video" => "写真・動画",
        "personal" => "氏名・生年月日など",
        "registration" => "登録情報",
        "timeline" => "タイムライン",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    match item.split_once(':') {
        Some(("post", _)) => "チームへの投稿".to_owned(),
        Some(("document", _)) => "文書".to_owned(),
        Some(("file", _)) => "添付ファイル".to_owned(),
        Some(("consultation", _)) => "センターへの相談".to_owned(),
        _ => item.to_owned(),
    }
}

/// The recorded roles and profession (`professional profession:nurse`), in words: the
/// profession where there is one, else the roles.
pub fn roles(recorded: &[String]) -> String {
    if let Some(p) = recorded.iter().find_map(|r| r.strip_prefix("profession:")) {
        return profession(p).to_owned();
    }
    recorded
        .iter()
        .map(|r| match r.as_str() {
            "municipal_secretariat" => "市町村の事務局",
            "auditor" => "監査担当",
            "operator" => "運用担当",
            "coordination_centre_staff" => "在宅医療・介護連携支援センター",
            "community_support_centre_staff" => "地域包括支援センター",
            "site_admin" => "事業所の管理者",
            "professional" => "専門職",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("・")
}

fn profession(p: &str) -> &str {
    match p {
        "physician" => "医師",
        "dentist" => "歯科医師",
        "pharmacist" => "薬剤師",
        "nurse" => "看護師",
        "public_health_nurse" => "保健師",
        "dental_hygienist" => "歯科衛生士",
        "physical_therapist" => "理学療法士",
        "occupational_therapist" => "作業療法士",
        "speech_therapist" => "言語聴覚士",
        "dietitian" => "管理栄養士",
        "care_manager" => "ケアマネジャー",
        "chief_care_manager" => "主任ケアマネジャー",
        "care_worker" => "介護職",
        "medical_social_worker" => "医療ソーシャルワーカー",
        "social_worker" => "社会福祉士",
        "municipal_staff" => "市町村職員",
        "clerical_staff" => "事務職員",
        "emergency_services" => "消防・救急",
        "police" => "警察",
        _ => "その他の職種",
    }
}

/// The outcome, in words.
pub fn outcome(outcome: Option<&str>) -> &'static str {
    match outcome {
        Some("allowed") => "許可",
        Some("denied") => "拒否",
        _ => "—",
    }
}

/// Why (the report's `why`, written in a fixed form by the report), in words.
pub fn why(why: &str) -> String {
    if let Some(rest) = why.strip_prefix("consent ")
        && let Some((_, after)) = rest.split_once(" version ")
    {
        let version = after.split(',').next().unwrap_or("").trim();
        return format!("本人の同意（第{version}版）に基づき、ケアチームの一員として");
    }
    if why.starts_with("registration data") {
        return "登録情報の確認（氏名など、記録の内容は含まない）".to_owned();
    }
    if why.starts_with("break-glass") {
        return match why.split_once(": \"") {
            Some((_, reason)) => {
                format!("緊急時のアクセス（理由：{}）", reason.trim_end_matches('"'))
            }
            None => "緊急時のアクセス".to_owned(),
        };
    }
    if let Some(reason) = why.strip_prefix("refused: ") {
        let words = match reason {
            "not_on_care_team" => "ケアチームに入っていない",
            "site_not_covered" | "site_excluded" => "同意の対象の事業所ではない",
            "categories_not_covered" => "同意の範囲外の情報",
            "consent_withdrawn" => "同意が撤回されている",
            "consent_expired" => "同意の期限が切れている",
            "no_consent" | "consent_pending" | "consent_not_yet_valid" | "consent_rejected" => {
                "有効な同意がない"
            }
            "care_ended" => "ケアが終了している",
            "other_municipality" => "他の市町村の職員",
            _ => "許可の条件を満たさない",
        };
        return format!("拒否（{words}）");
    }
    why.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_line_reads_in_words_without_ids() {
        let consent = why("consent 01a2-c version 2, team seat 01a2-s at site 01a2-x");
        assert_eq!(
            consent,
            "本人の同意（第2版）に基づき、ケアチームの一員として"
        );
        assert!(!consent.contains("01a2"));
        assert_eq!(
            why("refused: site_not_covered"),
            "拒否（同意の対象の事業所ではない）"
        );
        assert_eq!(
            why("break-glass (emergency) grant g1 until 2026-10-01T10:00:00Z: \"急変\""),
            "緊急時のアクセス（理由：急変）"
        );
        assert_eq!(
            roles(&["professional".into(), "profession:nurse".into()]),
            "看護師"
        );
        assert_eq!(roles(&["municipal_secretariat".into()]), "市町村の事務局");
        assert_eq!(what("post:01a2"), "チームへの投稿");
        assert_eq!(what(&format!("file:{}", "ab".repeat(32))), "添付ファイル");
        assert_eq!(what("consultation:01a2"), "センターへの相談");
        assert_eq!(what("care_records"), "経過・介護記録");
    }
}
