//! The service's decisions, without a database.

use super::records::*;
use super::validate::*;
use super::*;
use crate::licensing::usage::DayUsage;
use crate::licensing::KeyState;

#[test]
fn validate_drops_an_instance_name_or_url_that_would_display_as_another() {
    for disguised in [
        "Prod\u{200B}",
        "Pro\u{202E}d",
        "\u{FEFF}Prod",
        "Pr\u{2060}od",
        "Prod\u{7}",
    ] {
        let body = json!({
            "licenseKey": "ab".repeat(32),
            "instanceName": disguised,
            "instanceUrl": format!("https://{disguised}.example"),
        });
        let request = ValidationRequest::from_json(body.to_string().as_bytes()).unwrap();
        assert_eq!(request.instance_name, None, "{disguised:?}");
        assert_eq!(request.instance_url, None, "{disguised:?}");
    }
    let plain = json!({"licenseKey": "ab".repeat(32), "instanceName": " Prod ", "instanceUrl": "https://prod.example"});
    let request = ValidationRequest::from_json(plain.to_string().as_bytes()).unwrap();
    assert_eq!(request.instance_name.as_deref(), Some("Prod"));
    assert_eq!(
        request.instance_url.as_deref(),
        Some("https://prod.example")
    );
}

proptest::proptest! {
    #[test]
    fn only_64_lowercase_hex_characters_are_key_shaped(text in "[0-9a-fA-Fg ]{0,70}") {
        let expected = text.len() == 64 && text.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        proptest::prop_assert_eq!(is_key_shaped(&text), expected);
    }
}

fn record(
    last_validated_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
) -> LicenseKeyRecord {
    LicenseKeyRecord {
        id: Uuid::now_v7().to_string(),
        masked_key: "a1b2c3d4...e5f6a1b2".into(),
        instance_name: None,
        reported_instance_name: Some("erp-1".into()),
        instance_url: None,
        instance_metrics: None,
        last_violations: None,
        created_at: 0,
        last_validated_at,
        activated_at: last_validated_at,
        revoked_at,
        expires_at,
        usage_day: None,
        usage_today: None,
        overdue_after: 2 * 3600 + 3600,
    }
}

fn features(max_users: i64) -> String {
    let mut features = serde_json::json!({
        "maxCompanies": 1, "maxUsersPerOrg": max_users, "maxInvoicesPerMonth": 0,
        "syncIntervalSeconds": 86400
    });
    for flag in [
        "autoSync",
        "mobileApp",
        "pdfGeneration",
        "signatureVerification",
        "apiAccess",
        "realtimeNotifications",
        "paymentLinks",
        "emailSending",
        "emailTemplates",
        "reports",
        "recurringInvoices",
        "importExport",
        "backupRestore",
        "bankStatements",
        "exchangeRates",
        "webhooks",
        "selfHostingLicense",
        "prioritySupport",
    ] {
        features[flag] = true.into();
    }
    features.to_string()
}

fn validation_row() -> ValidationRow {
    ValidationRow {
        id: "k".into(),
        organization_id: "o".into(),
        revoked_at: None,
        expires_at: None,
        activated_at: None,
        instance_url: None,
        name: "Acme".into(),
        plan: "business".into(),
        deactivated_at: None,
        current_period_end: None,
        trial_ends_at: None,
        plan_features: features(10),
        free_features: features(1),
        usage_day: None,
        usage_today: None,
        known_instance_urls: None,
    }
}

#[test]
fn a_validation_is_decided_from_the_key_and_organization_alone() {
    let now = 1_000_000;
    let users = |n| InstanceMetrics {
        user_count: Some(n),
        ..Default::default()
    };
    let fine = decide(&validation_row(), Some(&users(10)), now).unwrap();
    assert_eq!((fine.plan.as_str(), fine.violations.len()), ("business", 0));
    let over = decide(&validation_row(), Some(&users(11)), now).unwrap();
    assert_eq!(over.violations.len(), 1);

    let lapsed = ValidationRow {
        current_period_end: Some(now),
        ..validation_row()
    };
    let verdict = decide(&lapsed, Some(&users(2)), now).unwrap();
    assert_eq!(verdict.plan, "free", "a lapsed period falls back to free");
    assert_eq!(verdict.features.max_users_per_org, 1);
    assert_eq!(verdict.violations.len(), 1);

    let in_trial = ValidationRow {
        trial_ends_at: Some(now + 86_400 * 3 - 10),
        ..lapsed
    };
    let verdict = decide(&in_trial, None, now).unwrap();
    assert_eq!(
        (verdict.plan.as_str(), verdict.in_trial),
        ("business", true)
    );
    let answer = Answer {
        now,
        billing_url: "https://lic.test/settings/billing",
        grace_seconds: 7 * 86_400,
        nonce: Some("n-1".into()),
    };
    let dto = verdict.into_dto(in_trial, answer);
    assert_eq!(dto.trial_days_left, Some(3));
    assert_eq!(dto.billing_url, "https://lic.test/settings/billing");
    assert_eq!((dto.code, dto.nonce.as_deref()), ("valid", Some("n-1")));
    assert_eq!(dto.refresh_after, 86_400, "the plan's sync interval");
    assert_eq!(dto.grace_until, clock::rfc3339(now + 7 * 86_400));
}

#[test]
fn a_revoked_or_expired_key_is_invalid_and_an_inactive_organization_refused() {
    let now = 1_000_000;
    let inactive = ValidationRow {
        deactivated_at: Some(1),
        ..validation_row()
    };
    assert!(matches!(
        decide(&inactive, None, now),
        Err(AppError::OrganizationInactive)
    ));
    for invalid in [
        ValidationRow {
            revoked_at: Some(1),
            ..validation_row()
        },
        ValidationRow {
            expires_at: Some(now),
            ..validation_row()
        },
    ] {
        assert!(matches!(
            decide(&invalid, None, now),
            Err(AppError::InvalidLicenseKey)
        ));
    }
    let rotating = ValidationRow {
        expires_at: Some(now + 1),
        ..validation_row()
    };
    assert!(
        decide(&rotating, None, now).is_ok(),
        "a rotated key works until its grace ends"
    );
}

#[test]
fn a_nonce_is_1_to_128_visible_ascii_characters() {
    for good in ["a", "n-1_x.Y~!", &"z".repeat(128)] {
        assert_eq!(parse_nonce(&json!(good)).unwrap(), good);
    }
    for bad in [
        json!(""),
        json!("has space"),
        json!("tab\t"),
        json!("é"),
        json!("z".repeat(129)),
        json!(5),
        json!([]),
    ] {
        assert!(
            matches!(parse_nonce(&bad), Err(AppError::BadRequest(_))),
            "{bad}"
        );
    }
}

#[test]
fn activity_states_follow_the_keys_life() {
    let now = 1_000_000;
    assert_eq!(
        record(None, None, None).activity(now).state,
        KeyState::NeverUsed
    );
    assert_eq!(
        record(Some(now - 3600), None, None).activity(now).state,
        KeyState::Active
    );
    // Overdue after twice the sync interval plus the grace (3 hours here).
    assert_eq!(
        record(Some(now - 3 * 3600), None, None).state(now),
        KeyState::Active
    );
    assert_eq!(
        record(Some(now - 3 * 3600 - 1), None, None).state(now),
        KeyState::Overdue
    );
    let mut shared = record(Some(now), None, None);
    let mut usage = DayUsage::default();
    usage.record(Some("https://a"), [], vec![]);
    usage.record(Some("https://b"), [], vec![]);
    shared.usage_today = Some(serde_json::to_string(&usage).unwrap());
    shared.usage_day = Some(day_of(now) - 1);
    assert_eq!(shared.state(now), KeyState::Shared { instances: 2 });
    assert_eq!(shared.to_dto(now).state, "shared");
    shared.usage_day = Some(day_of(now) - 2);
    assert_eq!(
        shared.state(now),
        KeyState::Active,
        "shared days ago, not lately"
    );
    assert_eq!(
        record(Some(now), Some(now), None).activity(now).state,
        KeyState::Revoked
    );
    assert_eq!(
        record(Some(now), None, Some(now + 60)).activity(now).state,
        KeyState::Rotating {
            until: clock::rfc3339(now + 60)
        }
    );
    assert_eq!(
        record(Some(now), None, Some(now)).activity(now).state,
        KeyState::Revoked
    );
    let shown = record(Some(now - 7200), None, None).activity(now);
    assert_eq!(shown.last_validated.as_deref(), Some("2 hours ago"));
    assert_eq!(
        shown.key.instance_name.as_deref(),
        Some("erp-1"),
        "the reported name fills in"
    );
    assert!(!record(None, None, Some(now)).to_dto(now).active);
}
