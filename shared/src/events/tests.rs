use chrono::TimeZone;
use serde_json::json;

use super::*;

fn at_noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn erasure() -> Event {
    Event::new(
        &ErasureRequested {
            user_id: crate::domain::UserId::parse("u-1").unwrap(),
        },
        at_noon(),
    )
    .unwrap()
}

/// An envelope as another producer might write it, with `patch` applied.
fn wire(patch: Value) -> String {
    let mut v = json!({
        "id": "0b7e2a47-5d4c-4a43-9a0b-7f1d2c3e4f50",
        "kind": "user.erasure-requested",
        "version": 1,
        "occurredAt": "2025-03-01T12:00:00Z",
        "data": {"userId": "u-1"}
    });
    for (k, field) in patch.as_object().unwrap() {
        if field.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = field.clone();
        }
    }
    v.to_string()
}

#[test]
fn an_event_serializes_as_the_documented_envelope() {
    let event = erasure();
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(
        value,
        json!({
            "id": event.id().to_string(),
            "kind": "user.erasure-requested",
            "version": 1,
            "occurredAt": "2025-03-01T12:00:00.000000Z",
            "data": {"userId": "u-1"}
        })
    );
    assert!(uuid::Uuid::parse_str(value["id"].as_str().unwrap()).is_ok());
}

#[test]
fn an_event_round_trips_through_text_and_decodes() {
    let event = erasure();
    let text = serde_json::to_string(&event).unwrap();
    let back = Event::parse(&text).unwrap();
    assert_eq!(back, event);
    assert!(back.is::<ErasureRequested>());
    assert_eq!(
        back.decode::<ErasureRequested>().unwrap(),
        ErasureRequested {
            user_id: crate::domain::UserId::parse("u-1").unwrap()
        }
    );
}

#[test]
fn each_new_event_has_its_own_id() {
    assert_ne!(erasure().id(), erasure().id());
}

#[test]
fn another_producers_envelope_is_read_and_unknown_fields_are_ignored() {
    let text = wire(json!({
        "occurredAt": "2025-03-01T13:00:00+01:00",
        "traceparent": "00-abc-def-01",
        "data": {"userId": "u-9", "reason": "added later"}
    }));
    let event = Event::parse(&text).unwrap();
    assert_eq!(event.occurred_at(), at_noon());
    assert_eq!(
        event.id().to_string(),
        "0b7e2a47-5d4c-4a43-9a0b-7f1d2c3e4f50"
    );
    assert_eq!(
        event.decode::<ErasureRequested>().unwrap().user_id.as_str(),
        "u-9"
    );
}

#[test]
fn an_event_of_another_kind_is_refused() {
    let event = Event::parse(&wire(json!({"kind": "order.placed"}))).unwrap();
    assert!(!event.is::<ErasureRequested>());
    assert_eq!(
        event.decode::<ErasureRequested>(),
        Err(EventError::UnexpectedKind {
            expected: "user.erasure-requested",
            found: "order.placed".into()
        })
    );
}

#[test]
fn a_newer_version_is_refused_with_a_clear_error() {
    let event = Event::parse(&wire(json!({"version": 2}))).unwrap();
    let err = event.decode::<ErasureRequested>().unwrap_err();
    assert_eq!(
        err,
        EventError::NewerVersion {
            kind: "user.erasure-requested",
            version: 2,
            known: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "`user.erasure-requested` event version 2 is newer than this build reads (up to 1); \
         a newer consumer must handle it"
    );
}

#[test]
fn data_of_the_wrong_shape_is_refused() {
    let event = Event::parse(&wire(json!({"data": {"user": "u-1"}}))).unwrap();
    assert!(matches!(
        event.decode::<ErasureRequested>(),
        Err(EventError::InvalidData { version: 1, .. })
    ));
}

#[test]
fn malformed_envelopes_are_refused() {
    for patch in [
        json!({"id": "not-a-uuid"}),
        json!({"id": null}),
        json!({"kind": "erasure"}),
        json!({"kind": "User.Erasure"}),
        json!({"kind": "user..erasure"}),
        json!({"kind": "user.-erasure"}),
        json!({"kind": ""}),
        json!({"version": 0}),
        json!({"version": -1}),
        json!({"version": "1"}),
        json!({"occurredAt": "yesterday"}),
        json!({"data": "u-1"}),
        json!({"data": null}),
    ] {
        let result = Event::parse(&wire(patch.clone()));
        assert!(
            matches!(result, Err(EventError::InvalidEnvelope(_))),
            "{patch} gave {result:?}"
        );
    }
    assert!(matches!(
        Event::parse("not json"),
        Err(EventError::InvalidEnvelope(_))
    ));
    assert_eq!(
        Event::parse(&wire(json!({"version": 0})))
            .unwrap_err()
            .to_string(),
        "not a valid event envelope: an event version starts at 1"
    );
}

#[test]
fn the_message_shape_before_the_envelope_is_refused() {
    let old = json!({
        "eventId": "0b7e2a47-5d4c-4a43-9a0b-7f1d2c3e4f50",
        "kind": "user.erasure-requested",
        "version": 1,
        "userId": "u-1",
        "requestedAt": "2025-03-01T12:00:00Z"
    });
    assert!(matches!(
        Event::parse(&old.to_string()),
        Err(EventError::InvalidEnvelope(_))
    ));
}

#[test]
fn event_ids_parse_only_from_uuids() {
    let id = EventId::generate();
    assert_eq!(EventId::parse(&id.to_string()).unwrap(), id);
    assert!(EventId::parse("e-1").is_err());
}

#[test]
fn the_schema_describes_the_envelope_of_its_kind() {
    let schema = ErasureRequested::schema();
    assert_eq!(schema["$schema"], SCHEMA_DIALECT);
    assert_eq!(
        schema["$id"],
        "urn:jojomart:event:user.erasure-requested:v1"
    );
    assert_eq!(
        schema["properties"]["kind"]["const"],
        ErasureRequested::KIND
    );
    assert_eq!(schema["properties"]["version"]["const"], 1);
    assert_eq!(
        schema["properties"]["data"],
        ErasureRequested::data_schema()
    );
}

#[test]
fn a_round_tripped_event_matches_its_schema() {
    let text = serde_json::to_string(&erasure()).unwrap();
    let back = serde_json::to_value(Event::parse(&text).unwrap()).unwrap();
    assert_eq!(
        violations(&ErasureRequested::schema(), &back),
        Vec::<String>::new()
    );
}

#[test]
fn the_schema_refuses_what_the_reader_refuses() {
    let schema = ErasureRequested::schema();
    let good = serde_json::to_value(erasure()).unwrap();
    let cases = [
        ("/data/userId", json!({"data": {}})),
        ("/occurredAt", json!({"occurredAt": null})),
        ("/kind", json!({"kind": "order.placed"})),
        ("/version", json!({"version": 2})),
        ("/id", json!({"id": "e-1"})),
        ("/data/userId", json!({"data": {"userId": 7}})),
    ];
    for (path, patch) in cases {
        let mut bad = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                bad.as_object_mut().unwrap().remove(k);
            } else {
                bad[k] = v.clone();
            }
        }
        let found = violations(&schema, &bad);
        assert!(
            found.iter().any(|v| v.starts_with(path)),
            "{patch}: expected a violation at {path}, got {found:?}"
        );
    }
}

#[test]
fn known_kinds_are_well_formed() {
    assert!(is_kind(ErasureRequested::KIND));
    const { assert!(ErasureRequested::VERSION >= 1) };
}

/// The violations of `value` against `schema`, for the keywords our event
/// schemas use. An unknown keyword fails the test rather than passing silently.
fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, value, "", &mut out);
    out
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let rules = schema.as_object().expect("a schema is an object");
    for (keyword, rule) in rules {
        match keyword.as_str() {
            "$schema" | "$id" | "title" | "description" => {}
            "type" => {
                let ok = match rule.as_str() {
                    Some("object") => value.is_object(),
                    Some("string") => value.is_string(),
                    Some("integer") => value.is_i64() || value.is_u64(),
                    other => panic!("type {other:?} is not supported by the test validator"),
                };
                if !ok {
                    out.push(format!("{path}: is not of type {rule}"));
                }
            }
            "const" => {
                if value != rule {
                    out.push(format!("{path}: is not {rule}"));
                }
            }
            "required" => {
                if let Some(obj) = value.as_object() {
                    for name in rule.as_array().expect("required is a list") {
                        let name = name.as_str().expect("required names are strings");
                        if !obj.contains_key(name) {
                            out.push(format!("{path}/{name}: is required"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(obj) = value.as_object() {
                    for (name, sub) in rule.as_object().expect("properties is an object") {
                        if let Some(v) = obj.get(name) {
                            check(sub, v, &format!("{path}/{name}"), out);
                        }
                    }
                }
            }
            "format" => {
                if let Some(text) = value.as_str() {
                    let ok = match rule.as_str() {
                        Some("uuid") => uuid::Uuid::parse_str(text).is_ok(),
                        Some("date-time") => DateTime::parse_from_rfc3339(text).is_ok(),
                        other => panic!("format {other:?} is not supported by the test validator"),
                    };
                    if !ok {
                        out.push(format!("{path}: is not a {rule}"));
                    }
                }
            }
            other => panic!("keyword `{other}` is not supported by the test validator"),
        }
    }
}

#[test]
fn account_mail_events_match_their_schemas_and_keep_the_token_out_of_debug() {
    let verification = crate::events::VerificationRequested {
        user_id: crate::domain::UserId::parse("u-1").unwrap(),
        email: "ann@example.com".into(),
        name: "Ann".into(),
        token: "secret-token-value".into(),
        expires_at: chrono::Utc::now(),
    };
    let event = Event::new(&verification, chrono::Utc::now()).unwrap();
    let back = serde_json::to_value(&event).unwrap();
    assert_eq!(
        violations(&crate::events::VerificationRequested::schema(), &back),
        Vec::<String>::new()
    );
    assert_eq!(
        event
            .decode::<crate::events::VerificationRequested>()
            .unwrap(),
        verification
    );
    let reset = crate::events::PasswordResetRequested {
        user_id: verification.user_id.clone(),
        email: verification.email.clone(),
        name: verification.name.clone(),
        token: verification.token.clone(),
        expires_at: verification.expires_at,
    };
    let back = serde_json::to_value(Event::new(&reset, chrono::Utc::now()).unwrap()).unwrap();
    assert_eq!(
        violations(&crate::events::PasswordResetRequested::schema(), &back),
        Vec::<String>::new()
    );
    for shown in [format!("{verification:?}"), format!("{reset:?}")] {
        assert!(!shown.contains("secret-token-value"), "{shown}");
        assert!(!shown.contains("ann@example.com"), "{shown}");
    }
}
