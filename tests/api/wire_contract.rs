//! Contract tests of the custom-handler wire: the literal payloads of
//! FUNCTIONS.md parse to the values they carry, and our answers have the shape
//! the Functions host requires.

use chrono::{TimeZone, Utc};
use jojomart::wire::{InvocationRequest, InvocationResponse, QueueTrigger, TimerTrigger};
use serde_json::{json, Value};

/// The queue-trigger payload exactly as FUNCTIONS.md (and the host's own tests) show it.
const QUEUE_PAYLOAD: &str = r#"{"Data":{"message":"\"{\\\"kind\\\":\\\"order.paid\\\"}\""},
 "Metadata":{"DequeueCount":1,"ExpirationTime":"2026-12-02T17:58:31+00:00","Id":"800ae4b3-bdd2-4c08-badd-f08e5a34b865",
   "InsertionTime":"2026-11-25T17:58:31+00:00","NextVisibleTime":"2026-11-25T18:08:32+00:00","PopReceipt":"AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
   "sys":{"MethodName":"SendNotification","UtcNow":"2026-11-25T17:58:32.2205399Z","RandGuid":"24ad4c06-24ad-4e5b-8294-3da9714877e9"}}}"#;

/// The timer-trigger payload from FUNCTIONS.md.
const TIMER_PAYLOAD: &str = r#"{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-25T13:08:00.0096035+00:00","Next":"2026-11-25T13:09:00+00:00","LastUpdated":"2026-11-25T13:08:00.0096035+00:00"},"IsPastDue":false}},
 "Metadata":{"sys":{"MethodName":"AnalyticsRollup","UtcNow":"2026-11-25T13:08:00.01Z","RandGuid":"..."}}}"#;

#[test]
fn queue_payload_is_decoded_twice_to_the_original_json() {
    let req: InvocationRequest = serde_json::from_str(QUEUE_PAYLOAD).unwrap();
    let trigger = QueueTrigger::from_request(&req).unwrap();
    assert_eq!(trigger.message, r#"{"kind":"order.paid"}"#);
    let body: Value = trigger.json().unwrap();
    assert_eq!(body, json!({"kind": "order.paid"}));
}

#[test]
fn queue_metadata_carries_every_property() {
    let req: InvocationRequest = serde_json::from_str(QUEUE_PAYLOAD).unwrap();
    let m = QueueTrigger::from_request(&req).unwrap().metadata;
    assert_eq!(m.dequeue_count, 1);
    assert_eq!(m.id, "800ae4b3-bdd2-4c08-badd-f08e5a34b865");
    assert_eq!(m.pop_receipt, "AgAAAAMAAAAAAAAAAgtnj8x+1QE=");
    assert_eq!(
        m.expiration_time,
        Utc.with_ymd_and_hms(2026, 12, 2, 17, 58, 31).unwrap()
    );
    assert_eq!(
        m.insertion_time,
        Utc.with_ymd_and_hms(2026, 11, 25, 17, 58, 31).unwrap()
    );
    assert_eq!(
        m.next_visible_time,
        Utc.with_ymd_and_hms(2026, 11, 25, 18, 8, 32).unwrap()
    );
    let sys = m.sys.unwrap();
    assert_eq!(sys.method_name, "SendNotification");
    assert_eq!(sys.rand_guid, "24ad4c06-24ad-4e5b-8294-3da9714877e9");
}

#[test]
fn a_plain_string_message_is_decoded_twice_too() {
    // The host sends the message `hello` as "\"hello\"".
    let req: InvocationRequest = serde_json::from_value(json!({
        "Data": {"message": "\"hello\""},
        "Metadata": {"DequeueCount": 2, "ExpirationTime": "2026-12-02T17:58:31+00:00", "Id": "x",
                     "InsertionTime": "2026-11-25T17:58:31+00:00", "NextVisibleTime": "2026-11-25T18:08:32+00:00",
                     "PopReceipt": "p"}
    }))
    .unwrap();
    let trigger = QueueTrigger::from_request(&req).unwrap();
    assert_eq!(trigger.message, "hello");
    assert_eq!(trigger.metadata.dequeue_count, 2);
}

#[test]
fn what_the_in_process_host_sends_is_what_the_host_sends() {
    let req: InvocationRequest = serde_json::from_str(QUEUE_PAYLOAD).unwrap();
    let trigger = QueueTrigger::from_request(&req).unwrap();
    let again = trigger.to_request();
    assert_eq!(
        again.data, req.data,
        "the message is encoded twice, as the host does"
    );
    assert_eq!(QueueTrigger::from_request(&again).unwrap(), trigger);
}

#[test]
fn timer_payload_parses_with_its_schedule_status() {
    let req: InvocationRequest = serde_json::from_str(TIMER_PAYLOAD).unwrap();
    let t = TimerTrigger::from_request(&req).unwrap();
    assert!(t.info.schedule.adjust_for_dst);
    assert!(!t.info.is_past_due);
    let status = t.info.schedule_status.unwrap();
    assert_eq!(
        status.next,
        Utc.with_ymd_and_hms(2026, 11, 25, 13, 9, 0).unwrap()
    );
    assert_eq!(
        status.last.timestamp(),
        Utc.with_ymd_and_hms(2026, 11, 25, 13, 8, 0)
            .unwrap()
            .timestamp()
    );
    assert_eq!(t.sys.unwrap().method_name, "AnalyticsRollup");
}

#[test]
fn timer_status_is_null_without_the_monitor_and_last_may_lack_an_offset() {
    let off: InvocationRequest = serde_json::from_value(json!({
        "Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": null, "IsPastDue": true}},
        "Metadata": {}
    }))
    .unwrap();
    let t = TimerTrigger::from_request(&off).unwrap();
    assert!(t.info.schedule_status.is_none());
    assert!(t.info.is_past_due);

    let first: InvocationRequest = serde_json::from_value(json!({
        "Data": {"timer": {"Schedule": {"AdjustForDST": true},
            "ScheduleStatus": {"Last": "0001-01-01T00:00:00", "Next": "2026-11-25T13:09:00+00:00",
                               "LastUpdated": "0001-01-01T00:00:00"}, "IsPastDue": false}},
        "Metadata": {}
    }))
    .unwrap();
    let status = TimerTrigger::from_request(&first)
        .unwrap()
        .info
        .schedule_status
        .unwrap();
    assert_eq!(status.last, Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap());
}

#[test]
fn the_answer_has_outputs_logs_and_return_value() {
    let mut answer = InvocationResponse::default();
    answer
        .outputs
        .insert("outbound".into(), json!([r#"{"kind":"order.paid"}"#]));
    answer.logs.push("sent 1 email".into());
    let wire = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        wire,
        json!({"Outputs": {"outbound": ["{\"kind\":\"order.paid\"}"]}, "Logs": ["sent 1 email"], "ReturnValue": null})
    );
}

#[test]
fn a_payload_without_the_binding_is_refused() {
    let req: InvocationRequest =
        serde_json::from_value(json!({"Data": {}, "Metadata": {}})).unwrap();
    assert!(QueueTrigger::from_request(&req).is_err());
    assert!(TimerTrigger::from_request(&req).is_err());
}
