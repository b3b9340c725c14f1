//! Thresholds, wording, the once-per-threshold memory and the choice of the secret in use.

use super::*;
use crosswalk_core::Cloud;
use time::macros::datetime;
use time::Duration;

const NOW: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

fn connection(secret: Option<SecretRef>) -> ConnectionConfig {
    ConnectionConfig {
        name: "contoso".into(),
        settings: ConnectionSettings::Entra {
            tenant_id: "tenant".into(),
            client_id: "client".into(),
            cloud: Cloud::Global,
            authority_url: None,
            graph_url: None,
        },
        secret,
    }
}

#[test]
fn thresholds_follow_the_days_left() {
    fn check(left: Duration, days: i64, expected: Option<u32>) {
        let expires_at = NOW + left;
        assert_eq!(days_left(expires_at, NOW), days, "{left}");
        assert_eq!(threshold(expires_at, NOW), expected, "{left}");
    }
    check(Duration::days(45), 45, None);
    check(Duration::days(31) - Duration::seconds(1), 30, Some(30));
    check(Duration::days(30), 30, Some(30));
    check(Duration::days(20) + Duration::hours(3), 20, Some(30));
    check(Duration::days(15) - Duration::seconds(1), 14, Some(14));
    check(Duration::days(8), 8, Some(14));
    check(Duration::days(7) + Duration::hours(23), 7, Some(7));
    check(Duration::days(5), 5, Some(7));
    check(Duration::days(2) - Duration::seconds(1), 1, Some(1));
    check(Duration::hours(5), 0, Some(1));
    check(Duration::ZERO, 0, Some(0));
    check(-Duration::hours(5), -1, Some(0));
    check(-Duration::days(3), -3, Some(0));
}

#[test]
fn sentences_name_the_date_and_say_when_the_secret_was_guessed() {
    let expiry = |left: Duration, matched: bool| {
        SecretExpiry::new("contoso", "Crosswalk Sync", NOW + left, matched, NOW)
    };
    assert_eq!(
        expiry(Duration::days(20), true).describe(),
        "Client secret expires in 20 days (on 2026-12-11)."
    );
    assert_eq!(
        expiry(Duration::days(1) + Duration::hours(2), true).headline(),
        "Client secret of connection contoso expires in 1 day (on 2026-11-22)."
    );
    assert_eq!(
        expiry(Duration::hours(2), true).describe(),
        "Client secret expires in less than a day (on 2026-11-21)."
    );
    assert_eq!(
        expiry(-Duration::days(2), true).describe(),
        "Client secret expired on 2026-11-19."
    );
    assert!(expiry(Duration::days(5), false)
        .describe()
        .contains("could not tell which of the app's client secrets it signs in with"));
}

#[test]
fn the_fix_names_the_app_and_where_the_new_secret_goes() {
    let fix = renewal_fix(&connection(None), "Crosswalk Sync");
    assert!(
        fix.contains("App registrations › Crosswalk Sync › Certificates & secrets")
            && fix.contains("`crosswalk secret set contoso`"),
        "{fix}"
    );
    let fix = renewal_fix(
        &connection(Some(SecretRef::Env("ENTRA_SECRET".into()))),
        "Crosswalk Sync",
    );
    assert!(
        fix.contains("environment variable ENTRA_SECRET") && !fix.contains("secret set"),
        "{fix}"
    );
}

#[test]
fn each_threshold_is_crossed_once_and_a_renewed_secret_starts_over() {
    let store = Store::open_in_memory().unwrap();
    let expires_at = NOW + Duration::days(45);
    let record = |now: OffsetDateTime, expires_at: OffsetDateTime| {
        let expiry = SecretExpiry::new("contoso", "Crosswalk Sync", expires_at, true, now);
        record_secret_expiry(&store, &expiry, now).unwrap()
    };
    assert_eq!(record(NOW, expires_at), None);
    assert_eq!(record(NOW + Duration::days(20), expires_at), Some(30));
    assert_eq!(record(NOW + Duration::days(21), expires_at), None);
    // Several thresholds passed while nobody looked: one notice, for the lowest.
    assert_eq!(record(NOW + Duration::days(40), expires_at), Some(7));
    assert_eq!(record(NOW + Duration::days(41), expires_at), None);
    assert_eq!(record(NOW + Duration::days(45), expires_at), Some(0));
    assert_eq!(record(NOW + Duration::days(46), expires_at), None);
    // A later date that has also passed is no renewal (Entra said "expired" without a date).
    assert_eq!(
        record(NOW + Duration::days(46), NOW + Duration::days(46)),
        None
    );

    // Renewed: a later expiry forgets what was warned about.
    let renewed = NOW + Duration::days(71);
    assert_eq!(record(NOW + Duration::days(46), renewed), Some(30));
    assert_eq!(record(NOW + Duration::days(47), renewed), None);

    let known = known_secret_expiry(&store, "contoso", NOW + Duration::days(50))
        .unwrap()
        .unwrap();
    assert_eq!(known.expiry.expires_at, renewed);
    assert_eq!(known.expiry.days_left, 21);
    assert_eq!(known.expiry.threshold, Some(30));
    assert_eq!(known.checked_at, NOW + Duration::days(47));
    assert_eq!(known_secret_expiry(&store, "other", NOW).unwrap(), None);
}

#[test]
fn an_unreadable_stored_value_counts_as_no_reading() {
    let store = Store::open_in_memory().unwrap();
    store
        .set_setting(&setting_key("contoso"), &serde_json::json!({"nonsense": 1}))
        .unwrap();
    assert_eq!(known_secret_expiry(&store, "contoso", NOW).unwrap(), None);
    let expiry = SecretExpiry::new("contoso", "app", NOW + Duration::days(3), true, NOW);
    assert_eq!(record_secret_expiry(&store, &expiry, NOW).unwrap(), Some(7));
}

fn app(secrets: &[(&str, Duration)]) -> Application {
    let credentials: Vec<serde_json::Value> = secrets
        .iter()
        .map(|(hint, left)| {
            serde_json::json!({
                "keyId": "00000000-0000-0000-0000-000000000000",
                "displayName": "secret",
                "hint": hint,
                "endDateTime": (NOW + *left).format(&time::format_description::well_known::Rfc3339).unwrap(),
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": "object-id",
        "appId": "client",
        "displayName": "Crosswalk Sync",
        "passwordCredentials": credentials,
        "keyCredentials": [],
    }))
    .unwrap()
}

/// The expiry picked for the held secret `abc-value` and whether it was matched by its hint.
fn picked(secrets: &[(&str, Duration)]) -> Option<(i64, bool)> {
    match from_application(
        &connection(None),
        &app(secrets),
        &Secret::new("abc-value"),
        NOW,
    ) {
        SecretExpiryOutcome::Known(expiry) => Some((expiry.days_left, expiry.matched_by_hint)),
        _ => None,
    }
}

#[test]
fn the_secret_in_use_is_the_one_whose_hint_matches() {
    let days = Duration::days;
    assert_eq!(
        picked(&[("xyz", days(5)), ("abc", days(200))]),
        Some((200, true))
    );
    // No hint matches: the earliest secret that has not expired yet.
    assert_eq!(
        picked(&[("xyz", -days(5)), ("uvw", days(9)), ("rst", days(90))]),
        Some((9, false))
    );
    // Several match: the earliest of those.
    assert_eq!(
        picked(&[("abc", days(90)), ("abc", days(40)), ("xyz", days(2))]),
        Some((40, false))
    );
    // Every candidate expired: the earliest, reported as expired.
    assert_eq!(
        picked(&[("xyz", -days(5)), ("uvw", -days(1))]),
        Some((-5, false))
    );
    assert_eq!(picked(&[]), None);
}

#[test]
fn a_reading_remembered_by_test_connection_leaves_the_warning_to_the_watch() {
    let store = Store::open_in_memory().unwrap();
    let reading = |expires_at: OffsetDateTime| {
        SecretExpiry::new("contoso", "Crosswalk Sync", expires_at, true, NOW)
    };
    remember_secret_expiry(&store, &reading(NOW + Duration::days(20)), NOW).unwrap();
    let known = known_secret_expiry(&store, "contoso", NOW)
        .unwrap()
        .unwrap();
    assert_eq!(known.expiry.threshold, Some(30));
    // Still due: the next health check or sync notifies.
    assert_eq!(
        record_secret_expiry(&store, &reading(NOW + Duration::days(20)), NOW).unwrap(),
        Some(30)
    );
    // A renewal seen by Test connection starts the thresholds over too.
    remember_secret_expiry(&store, &reading(NOW + Duration::days(25)), NOW).unwrap();
    assert_eq!(
        record_secret_expiry(&store, &reading(NOW + Duration::days(25)), NOW).unwrap(),
        Some(30)
    );
}
