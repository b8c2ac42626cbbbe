//! The simulator's books: PaymentIntents, their charges and refunds, and the
//! idempotency keys seen, all in memory, changed only under one lock and
//! without awaiting, so concurrent requests with one key cannot both act.
//!
//! Each operation answers what Stripe answers (status and JSON body, errors
//! as `{"error": {type, code, decline_code, message, param, payment_intent}}`)
//! and lists the events the change causes, for the webhook deliveries.

use std::collections::{BTreeMap, HashMap};

use rand::{distributions::Alphanumeric, Rng};
use serde_json::{json, Value};

use super::super::stripe::STRIPE_VERSION;

/// A test PaymentMethod and what confirming with it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Card {
    /// Succeeds at once.
    Succeeds,
    /// Declined with this `decline_code` and message.
    Declined(&'static str, &'static str),
    /// Needs 3-D Secure: `requires_action` with a redirect to the simulator's page.
    ThreeDSecure,
}

/// Stripe's test PaymentMethod ids the simulator knows.
fn card(payment_method: &str) -> Option<Card> {
    Some(match payment_method {
        "pm_card_visa" | "pm_card_visa_debit" | "pm_card_mastercard" | "pm_card_amex" => {
            Card::Succeeds
        }
        "pm_card_chargeDeclined" => Card::Declined("generic_decline", "Your card was declined."),
        "pm_card_chargeDeclinedInsufficientFunds" => {
            Card::Declined("insufficient_funds", "Your card has insufficient funds.")
        }
        "pm_card_threeDSecure2Required" | "pm_card_threeDSecureRequired" => Card::ThreeDSecure,
        _ => return None,
    })
}

/// An answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl Answer {
    fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    /// A Stripe error body.
    fn error(
        status: u16,
        kind: &str,
        code: Option<&str>,
        param: Option<&str>,
        message: String,
    ) -> Self {
        let mut error = json!({"type": kind, "message": message});
        if let Some(code) = code {
            error["code"] = json!(code);
            error["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            ));
        }
        if let Some(param) = param {
            error["param"] = json!(param);
        }
        Self {
            status,
            body: json!({ "error": error }),
        }
    }

    fn invalid(code: &str, param: &str, message: impl Into<String>) -> Self {
        Self::error(
            400,
            "invalid_request_error",
            Some(code),
            Some(param),
            message.into(),
        )
    }

    fn missing(kind: &str, id: &str, param: &str) -> Self {
        Self::error(
            404,
            "invalid_request_error",
            Some("resource_missing"),
            Some(param),
            format!("No such {kind}: '{id}'"),
        )
    }
}

/// A change to announce by webhook: the event type and its `data.object`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Event {
    /// `payment_intent.succeeded`...
    pub kind: &'static str,
    /// The object the event carries.
    pub object: Value,
}

/// What a write did: the answer, the events it caused, and whether it was a replay.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Posted {
    /// What to answer.
    pub answer: Answer,
    /// What to announce.
    pub events: Vec<Event>,
    /// True when an earlier answer was replayed for the same idempotency key.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
struct Intent {
    id: String,
    client_secret: String,
    created: i64,
    amount: i64,
    currency: String,
    status: &'static str,
    metadata: BTreeMap<String, String>,
    payment_method: Option<String>,
    return_url: Option<String>,
    receipt_email: Option<String>,
    description: Option<String>,
    latest_charge: Option<String>,
    last_payment_error: Option<Value>,
    next_action: Option<Value>,
    canceled_at: Option<i64>,
    cancellation_reason: Option<String>,
}

#[derive(Debug, Clone)]
struct Charge {
    id: String,
    created: i64,
    amount: i64,
    amount_refunded: i64,
    currency: String,
    payment_intent: String,
    payment_method: String,
    metadata: BTreeMap<String, String>,
    failure: Option<(String, String)>,
}

/// What one idempotency key was first used for, and its answer.
#[derive(Debug, Clone)]
struct Saved {
    endpoint: String,
    params: Vec<(String, String)>,
    answer: Answer,
}

/// A 3-D Secure page's verdict.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PageResult {
    /// The intent moved; redirect the shopper here (its `return_url`), if anywhere.
    Done {
        /// The new status.
        status: &'static str,
        /// Where to send the shopper.
        redirect: Option<String>,
        /// What to announce.
        events: Vec<Event>,
    },
    /// No such intent.
    Unknown,
    /// The intent no longer waits for authentication; its status.
    NotWaiting(&'static str),
}

/// Everything the simulated gateway holds.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    base_url: String,
    intents: Vec<Intent>,
    index: HashMap<String, usize>,
    charges: HashMap<String, Charge>,
    saved: HashMap<String, Saved>,
}

/// A random Stripe-like id: `prefix_` and 24 letters and digits.
pub(super) fn new_id(prefix: &str) -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}_{tail}")
}

/// The values of a form: every pair, in order.
pub(super) type Params = Vec<(String, String)>;

fn one<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn all<'a>(params: &'a Params, key: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Refuses parameters the endpoint does not take, as Stripe does.
fn known(params: &Params, allowed: &[&str]) -> Result<(), Answer> {
    for (key, _) in params {
        let ok = allowed.iter().any(|a| match a.strip_suffix("[*]") {
            Some(prefix) => key.starts_with(&format!("{prefix}[")) && key.ends_with(']'),
            None => key == a,
        });
        if !ok {
            return Err(Answer::invalid(
                "parameter_unknown",
                key,
                format!("Received unknown parameter: {key}"),
            ));
        }
    }
    Ok(())
}

impl Ledger {
    /// Empty books; 3-D Secure pages live under `base_url`.
    pub(super) fn new(base_url: String) -> Self {
        Self {
            base_url,
            ..Self::default()
        }
    }

    /// Runs a write under Stripe's idempotency rules: a key seen before with
    /// the same endpoint and parameters replays the first answer (nothing
    /// happens again); with others it is a 400 `idempotency_error`. Answers to
    /// requests that failed validation (`run`'s `Err`) are not kept.
    pub(super) fn post(
        &mut self,
        key: Option<&str>,
        endpoint: &str,
        params: Params,
        run: impl FnOnce(&mut Self, &Params) -> Result<(Answer, Vec<Event>), Answer>,
    ) -> Posted {
        let mut sorted = params.clone();
        sorted.sort();
        if let Some(saved) = key.and_then(|k| self.saved.get(k)) {
            let answer = if saved.endpoint == endpoint && saved.params == sorted {
                saved.answer.clone()
            } else {
                Answer::error(
                    400,
                    "idempotency_error",
                    None,
                    None,
                    format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.",
                        key.unwrap_or_default()
                    ),
                )
            };
            return Posted {
                answer,
                events: Vec::new(),
                replayed: true,
            };
        }
        let (answer, events) = match run(self, &params) {
            Ok(done) => done,
            Err(refused) => {
                return Posted {
                    answer: refused,
                    events: Vec::new(),
                    replayed: false,
                }
            }
        };
        if let Some(key) = key {
            self.saved.insert(
                key.to_owned(),
                Saved {
                    endpoint: endpoint.to_owned(),
                    params: sorted,
                    answer: answer.clone(),
                },
            );
        }
        Posted {
            answer,
            events,
            replayed: false,
        }
    }

    /// `POST /v1/payment_intents`.
    pub(super) fn create_intent(
        &mut self,
        params: &Params,
        now: i64,
    ) -> Result<(Answer, Vec<Event>), Answer> {
        known(
            params,
            &[
                "amount",
                "currency",
                "payment_method",
                "confirm",
                "payment_method_types[]",
                "metadata[*]",
                "return_url",
                "receipt_email",
                "description",
                "automatic_payment_methods[enabled]",
                "automatic_payment_methods[allow_redirects]",
                "expand[]",
            ],
        )?;
        let amount = match one(params, "amount") {
            None => {
                return Err(Answer::invalid(
                    "parameter_missing",
                    "amount",
                    "Missing required param: amount.",
                ))
            }
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(Answer::invalid(
                        "parameter_invalid_integer",
                        "amount",
                        format!("Invalid positive integer: {raw}"),
                    ))
                }
            },
        };
        let currency = match one(params, "currency") {
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                c.to_ascii_lowercase()
            }
            Some(c) => {
                return Err(Answer::invalid(
                    "parameter_invalid_string",
                    "currency",
                    format!("Invalid currency: {c}."),
                ))
            }
            None => {
                return Err(Answer::invalid(
                    "parameter_missing",
                    "currency",
                    "Missing required param: currency.",
                ))
            }
        };
        for kind in all(params, "payment_method_types[]") {
            if kind != "card" {
                return Err(Answer::invalid(
                    "parameter_invalid_string",
                    "payment_method_types",
                    format!("The payment method type provided: {kind} is invalid."),
                ));
            }
        }
        let confirm = match one(params, "confirm") {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(Answer::invalid(
                    "parameter_invalid_boolean",
                    "confirm",
                    format!("Invalid boolean: {other}"),
                ))
            }
        };
        let payment_method = one(params, "payment_method").map(str::to_owned);
        let behaviour = match &payment_method {
            Some(pm) => Some(
                card(pm).ok_or_else(|| Answer::missing("PaymentMethod", pm, "payment_method"))?,
            ),
            None => None,
        };
        if confirm && payment_method.is_none() {
            return Err(Answer::error(
                400,
                "invalid_request_error",
                Some("payment_intent_unexpected_state"),
                None,
                "You cannot confirm this PaymentIntent because it's missing a payment method."
                    .into(),
            ));
        }
        let metadata = params
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("metadata[")
                    .and_then(|k| k.strip_suffix(']'))
                    .map(|k| (k.to_owned(), v.clone()))
            })
            .collect();
        let id = new_id("pi");
        let mut intent = Intent {
            client_secret: format!("{id}_secret_{}", &new_id("s")[2..]),
            id: id.clone(),
            created: now,
            amount,
            currency,
            status: if payment_method.is_some() {
                "requires_confirmation"
            } else {
                "requires_payment_method"
            },
            metadata,
            payment_method,
            return_url: one(params, "return_url").map(str::to_owned),
            receipt_email: one(params, "receipt_email").map(str::to_owned),
            description: one(params, "description").map(str::to_owned),
            latest_charge: None,
            last_payment_error: None,
            next_action: None,
            canceled_at: None,
            cancellation_reason: None,
        };
        let mut events = Vec::new();
        let mut status = 200;
        if confirm {
            match behaviour {
                Some(Card::Succeeds) => {
                    self.succeed(&mut intent, now);
                    events.push("payment_intent.succeeded");
                }
                Some(Card::Declined(decline_code, message)) => {
                    self.decline(
                        &mut intent,
                        now,
                        "card_declined",
                        Some(decline_code),
                        message,
                    );
                    events.push("payment_intent.payment_failed");
                    status = 402;
                }
                Some(Card::ThreeDSecure) | None => {
                    intent.status = "requires_action";
                    intent.next_action = Some(json!({
                        "type": "redirect_to_url",
                        "redirect_to_url": {
                            "url": format!("{}/3ds/{id}", self.base_url),
                            "return_url": intent.return_url,
                        }
                    }));
                    events.push("payment_intent.requires_action");
                }
            }
        }
        self.index.insert(id.clone(), self.intents.len());
        self.intents.push(intent);
        let body = self.intent_json(&id, false).unwrap_or(Value::Null);
        let events = events
            .into_iter()
            .map(|kind| Event {
                kind,
                object: body.clone(),
            })
            .collect();
        if status == 402 {
            let mut error = self.intents[self.index[&id]]
                .last_payment_error
                .clone()
                .unwrap_or_else(|| json!({}));
            error["payment_intent"] = body;
            return Ok((
                Answer {
                    status,
                    body: json!({ "error": error }),
                },
                events,
            ));
        }
        Ok((Answer::ok(body), events))
    }

    /// Charges an intent successfully.
    fn succeed(&mut self, intent: &mut Intent, now: i64) {
        let charge = self.charge(intent, now, None);
        intent.status = "succeeded";
        intent.latest_charge = Some(charge);
        intent.next_action = None;
        intent.last_payment_error = None;
    }

    /// Fails an intent's attempt: back to `requires_payment_method` with the reason.
    fn decline(
        &mut self,
        intent: &mut Intent,
        now: i64,
        code: &str,
        decline_code: Option<&str>,
        message: &str,
    ) {
        let charge = self.charge(intent, now, Some((code.to_owned(), message.to_owned())));
        let mut error = json!({
            "type": "card_error",
            "code": code,
            "message": message,
            "charge": charge,
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
            "payment_method": {"id": intent.payment_method, "object": "payment_method", "type": "card"},
        });
        if let Some(decline_code) = decline_code {
            error["decline_code"] = json!(decline_code);
        }
        intent.status = "requires_payment_method";
        intent.latest_charge = Some(charge);
        intent.last_payment_error = Some(error);
        intent.next_action = None;
        intent.payment_method = None;
    }

    /// Records a charge of the intent (failed when `failure` is given); its id.
    fn charge(&mut self, intent: &Intent, now: i64, failure: Option<(String, String)>) -> String {
        let id = new_id("ch");
        self.charges.insert(
            id.clone(),
            Charge {
                id: id.clone(),
                created: now,
                amount: intent.amount,
                amount_refunded: 0,
                currency: intent.currency.clone(),
                payment_intent: intent.id.clone(),
                payment_method: intent.payment_method.clone().unwrap_or_default(),
                metadata: intent.metadata.clone(),
                failure,
            },
        );
        id
    }

    fn charge_json(&self, charge: &Charge) -> Value {
        let succeeded = charge.failure.is_none();
        json!({
            "id": charge.id,
            "object": "charge",
            "amount": charge.amount,
            "amount_captured": if succeeded { charge.amount } else { 0 },
            "amount_refunded": charge.amount_refunded,
            "captured": succeeded,
            "created": charge.created,
            "currency": charge.currency,
            "failure_code": charge.failure.as_ref().map(|f| &f.0),
            "failure_message": charge.failure.as_ref().map(|f| &f.1),
            "livemode": false,
            "metadata": charge.metadata,
            "paid": succeeded,
            "payment_intent": charge.payment_intent,
            "payment_method": charge.payment_method,
            "refunded": succeeded && charge.amount_refunded >= charge.amount,
            "status": if succeeded { "succeeded" } else { "failed" },
        })
    }

    /// An intent as Stripe shows it, its latest charge expanded when asked.
    fn intent_json(&self, id: &str, expand_charge: bool) -> Option<Value> {
        let intent = &self.intents[*self.index.get(id)?];
        let latest_charge = match (&intent.latest_charge, expand_charge) {
            (Some(charge), true) => self
                .charges
                .get(charge)
                .map(|c| self.charge_json(c))
                .unwrap_or(Value::Null),
            (Some(charge), false) => json!(charge),
            (None, _) => Value::Null,
        };
        Some(json!({
            "id": intent.id,
            "object": "payment_intent",
            "amount": intent.amount,
            "amount_capturable": 0,
            "amount_received": if intent.status == "succeeded" { intent.amount } else { 0 },
            "canceled_at": intent.canceled_at,
            "cancellation_reason": intent.cancellation_reason,
            "capture_method": "automatic",
            "client_secret": intent.client_secret,
            "confirmation_method": "automatic",
            "created": intent.created,
            "currency": intent.currency,
            "description": intent.description,
            "last_payment_error": intent.last_payment_error,
            "latest_charge": latest_charge,
            "livemode": false,
            "metadata": intent.metadata,
            "next_action": intent.next_action,
            "payment_method": intent.payment_method,
            "payment_method_types": ["card"],
            "receipt_email": intent.receipt_email,
            "status": intent.status,
        }))
    }

    /// `GET /v1/payment_intents/{id}`.
    pub(super) fn retrieve(&self, id: &str, params: &Params) -> Answer {
        let expand = all(params, "expand[]").contains(&"latest_charge");
        match self.intent_json(id, expand) {
            Some(body) => Answer::ok(body),
            None => Answer::missing("payment_intent", id, "intent"),
        }
    }

    /// The intents, newest first.
    fn newest_first(&self) -> impl Iterator<Item = &Intent> {
        self.intents.iter().rev()
    }

    fn limit(params: &Params) -> Result<usize, Answer> {
        match one(params, "limit") {
            None => Ok(10),
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => Ok(n),
                _ => Err(Answer::invalid(
                    "parameter_invalid_integer",
                    "limit",
                    "This value must be between 1 and 100 (it currently is invalid).",
                )),
            },
        }
    }

    /// `GET /v1/payment_intents`: a page, newest first, after `starting_after`.
    pub(super) fn list(&self, params: &Params) -> Answer {
        let limit = match Self::limit(params) {
            Ok(limit) => limit,
            Err(refused) => return refused,
        };
        let expand = all(params, "expand[]").contains(&"data.latest_charge");
        let mut intents: Vec<&Intent> = self.newest_first().collect();
        if let Some(after) = one(params, "starting_after") {
            match intents.iter().position(|i| i.id == after) {
                Some(at) => intents.drain(..=at).for_each(drop),
                None => return Answer::missing("payment_intent", after, "starting_after"),
            }
        }
        let has_more = intents.len() > limit;
        let data: Vec<Value> = intents
            .iter()
            .take(limit)
            .filter_map(|i| self.intent_json(&i.id, expand))
            .collect();
        Answer::ok(json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": "/v1/payment_intents",
        }))
    }

    /// `GET /v1/payment_intents/search`: clauses `metadata['k']:'v'` and
    /// `status:'s'`, joined by `AND`, newest first.
    pub(super) fn search(&self, params: &Params) -> Answer {
        let limit = match Self::limit(params) {
            Ok(limit) => limit,
            Err(refused) => return refused,
        };
        let Some(query) = one(params, "query") else {
            return Answer::invalid(
                "parameter_missing",
                "query",
                "Missing required param: query.",
            );
        };
        let mut clauses = Vec::new();
        for clause in query.split(" AND ") {
            match parse_clause(clause.trim()) {
                Some(c) => clauses.push(c),
                None => {
                    return Answer::invalid(
                        "parameter_invalid_string",
                        "query",
                        format!("The simulator cannot run this search query: {query}"),
                    )
                }
            }
        }
        let expand = all(params, "expand[]").contains(&"data.latest_charge");
        let data: Vec<Value> = self
            .newest_first()
            .filter(|i| {
                clauses.iter().all(|(field, value)| match field {
                    Clause::Metadata(key) => i.metadata.get(key) == Some(value),
                    Clause::Status => i.status == value,
                })
            })
            .take(limit)
            .filter_map(|i| self.intent_json(&i.id, expand))
            .collect();
        Answer::ok(json!({
            "object": "search_result",
            "data": data,
            "has_more": false,
            "next_page": null,
            "url": "/v1/payment_intents/search",
        }))
    }

    /// `POST /v1/payment_intents/{id}/cancel`.
    pub(super) fn cancel(
        &mut self,
        id: &str,
        params: &Params,
        now: i64,
    ) -> Result<(Answer, Vec<Event>), Answer> {
        known(params, &["cancellation_reason", "expand[]"])?;
        let reason = one(params, "cancellation_reason");
        if let Some(reason) = reason {
            if ![
                "duplicate",
                "fraudulent",
                "requested_by_customer",
                "abandoned",
            ]
            .contains(&reason)
            {
                return Err(Answer::invalid(
                    "parameter_invalid_string",
                    "cancellation_reason",
                    format!("Invalid cancellation_reason: {reason}"),
                ));
            }
        }
        let Some(&at) = self.index.get(id) else {
            return Err(Answer::missing("payment_intent", id, "intent"));
        };
        let status = self.intents[at].status;
        if matches!(status, "succeeded" | "canceled") {
            let mut answer = Answer::error(
                400,
                "invalid_request_error",
                Some("payment_intent_unexpected_state"),
                None,
                format!("You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing."),
            );
            answer.body["error"]["payment_intent"] =
                self.intent_json(id, false).unwrap_or_default();
            return Ok((answer, Vec::new()));
        }
        let intent = &mut self.intents[at];
        intent.status = "canceled";
        intent.canceled_at = Some(now);
        intent.cancellation_reason = reason.map(str::to_owned);
        intent.next_action = None;
        let body = self.intent_json(id, false).unwrap_or_default();
        let events = vec![Event {
            kind: "payment_intent.canceled",
            object: body.clone(),
        }];
        Ok((Answer::ok(body), events))
    }

    /// `POST /v1/refunds` (`payment_intent` or `charge`, optional `amount`).
    pub(super) fn refund(
        &mut self,
        params: &Params,
        now: i64,
    ) -> Result<(Answer, Vec<Event>), Answer> {
        known(
            params,
            &[
                "payment_intent",
                "charge",
                "amount",
                "reason",
                "metadata[*]",
                "expand[]",
            ],
        )?;
        let charge_id = match (one(params, "payment_intent"), one(params, "charge")) {
            (Some(pi), _) => {
                let Some(&at) = self.index.get(pi) else {
                    return Err(Answer::missing("payment_intent", pi, "payment_intent"));
                };
                let intent = &self.intents[at];
                match (&intent.latest_charge, intent.status) {
                    (Some(charge), "succeeded") => charge.clone(),
                    _ => {
                        return Err(Answer::error(
                            400,
                            "invalid_request_error",
                            None,
                            Some("payment_intent"),
                            format!("This PaymentIntent ({pi}) does not have a successful charge to refund."),
                        ))
                    }
                }
            }
            (None, Some(ch)) => match self.charges.get(ch) {
                Some(charge) if charge.failure.is_none() => ch.to_owned(),
                Some(_) => {
                    return Err(Answer::error(
                        400,
                        "invalid_request_error",
                        None,
                        Some("charge"),
                        format!("Charge {ch} has no successful payment to refund."),
                    ))
                }
                None => return Err(Answer::missing("charge", ch, "charge")),
            },
            (None, None) => {
                return Err(Answer::invalid(
                    "parameter_missing",
                    "payment_intent",
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ))
            }
        };
        let Some(charge) = self.charges.get_mut(&charge_id) else {
            return Err(Answer::missing("charge", &charge_id, "charge"));
        };
        let remaining = charge.amount - charge.amount_refunded;
        if remaining <= 0 {
            return Ok((
                Answer::error(
                    400,
                    "invalid_request_error",
                    Some("charge_already_refunded"),
                    None,
                    format!("Charge {charge_id} has already been refunded."),
                ),
                Vec::new(),
            ));
        }
        let amount = match one(params, "amount") {
            None => remaining,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=remaining).contains(&n) => n,
                _ => {
                    return Err(Answer::invalid(
                        "amount_too_large",
                        "amount",
                        format!("Refund amount ({raw}) is greater than unrefunded amount on charge ({remaining})"),
                    ))
                }
            },
        };
        charge.amount_refunded += amount;
        let charge = charge.clone();
        let refund = json!({
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge.id,
            "created": now,
            "currency": charge.currency,
            "metadata": {},
            "payment_intent": charge.payment_intent,
            "reason": one(params, "reason"),
            "status": "succeeded",
        });
        let events = vec![Event {
            kind: "charge.refunded",
            object: self.charge_json(&charge),
        }];
        Ok((Answer::ok(refund), events))
    }

    /// What the 3-D Secure page shows about an intent: amount, currency, status.
    pub(super) fn describe(&self, id: &str) -> Option<(i64, String, &'static str)> {
        let intent = &self.intents[*self.index.get(id)?];
        Some((intent.amount, intent.currency.clone(), intent.status))
    }

    /// The shopper completed (`success`) or failed the 3-D Secure page.
    pub(super) fn authenticate(&mut self, id: &str, success: bool, now: i64) -> PageResult {
        let Some(&at) = self.index.get(id) else {
            return PageResult::Unknown;
        };
        let mut intent = self.intents[at].clone();
        if intent.status != "requires_action" {
            return PageResult::NotWaiting(intent.status);
        }
        let kind = if success {
            self.succeed(&mut intent, now);
            "payment_intent.succeeded"
        } else {
            self.decline(
                &mut intent,
                now,
                "payment_intent_authentication_failure",
                None,
                "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            );
            "payment_intent.payment_failed"
        };
        let redirect = intent.return_url.as_ref().map(|url| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query
                .append_pair("payment_intent", &intent.id)
                .append_pair("payment_intent_client_secret", &intent.client_secret)
                .append_pair(
                    "redirect_status",
                    if success { "succeeded" } else { "failed" },
                );
            let joiner = if url.contains('?') { '&' } else { '?' };
            format!("{url}{joiner}{}", query.finish())
        });
        let status = intent.status;
        self.intents[at] = intent;
        let object = self.intent_json(id, false).unwrap_or_default();
        PageResult::Done {
            status,
            redirect,
            events: vec![Event { kind, object }],
        }
    }
}

/// A search clause's field.
enum Clause {
    Metadata(String),
    Status,
}

/// Reads `metadata['k']:'v'` or `status:'v'` (single or double quotes).
fn parse_clause(clause: &str) -> Option<(Clause, String)> {
    let (field, value) = clause.split_once(':')?;
    let unquote = |s: &str| -> Option<String> {
        let s = s.trim();
        let inner = s
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
            .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
        Some(inner.replace("\\'", "'").replace("\\\"", "\""))
    };
    let value = unquote(value)?;
    let field = field.trim();
    if field == "status" {
        return Some((Clause::Status, value));
    }
    let key = field.strip_prefix("metadata[")?.strip_suffix(']')?;
    Some((Clause::Metadata(unquote(key)?), value))
}

/// A webhook event's JSON, as Stripe sends it.
pub(super) fn event_json(event: &Event, now: i64) -> Value {
    json!({
        "id": new_id("evt"),
        "object": "event",
        "api_version": STRIPE_VERSION,
        "created": now,
        "data": { "object": event.object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event.kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn charge(ledger: &mut Ledger, key: &str, pm: &str) -> Posted {
        let p = params(&[
            ("amount", "1999"),
            ("currency", "eur"),
            ("payment_method", pm),
            ("confirm", "true"),
            ("metadata[order_id]", key),
        ]);
        ledger.post(Some(key), "/v1/payment_intents", p, |l, p| {
            l.create_intent(p, 1_700_000_000)
        })
    }

    #[test]
    fn a_key_replays_its_answer_and_refuses_other_parameters() {
        let mut ledger = Ledger::new("http://sim".into());
        let first = charge(&mut ledger, "o-1", "pm_card_visa");
        assert_eq!(first.answer.status, 200);
        assert_eq!(first.events.len(), 1);
        let again = charge(&mut ledger, "o-1", "pm_card_visa");
        assert!(again.replayed && again.events.is_empty());
        assert_eq!(again.answer, first.answer);
        let other = charge(&mut ledger, "o-1", "pm_card_mastercard");
        assert_eq!(other.answer.status, 400);
        assert_eq!(other.answer.body["error"]["type"], "idempotency_error");
        assert_eq!(ledger.intents.len(), 1);
    }

    #[test]
    fn validation_failures_are_not_kept_under_the_key() {
        let mut ledger = Ledger::new("http://sim".into());
        let bad = charge(&mut ledger, "o-2", "pm_card_unknown");
        assert_eq!(bad.answer.status, 404);
        assert_eq!(bad.answer.body["error"]["code"], "resource_missing");
        let good = charge(&mut ledger, "o-2", "pm_card_visa");
        assert_eq!(good.answer.status, 200, "{:?}", good.answer);
    }

    #[test]
    fn declines_answer_402_with_the_intent_and_refunds_happen_once() {
        let mut ledger = Ledger::new("http://sim".into());
        let declined = charge(
            &mut ledger,
            "o-3",
            "pm_card_chargeDeclinedInsufficientFunds",
        );
        assert_eq!(declined.answer.status, 402);
        let error = &declined.answer.body["error"];
        assert_eq!(error["decline_code"], "insufficient_funds");
        assert_eq!(error["payment_intent"]["status"], "requires_payment_method");
        let paid = charge(&mut ledger, "o-4", "pm_card_visa");
        let pi = paid.answer.body["id"].as_str().unwrap().to_owned();
        let refund = |l: &mut Ledger, key: &str| {
            l.post(
                Some(key),
                "/v1/refunds",
                params(&[("payment_intent", &pi)]),
                |l, p| l.refund(p, 1),
            )
        };
        let first = refund(&mut ledger, "r-1");
        assert_eq!(first.answer.status, 200);
        assert_eq!(first.events[0].object["refunded"], true);
        assert_eq!(first.events[0].object["metadata"]["order_id"], "o-4");
        let second = refund(&mut ledger, "r-2");
        assert_eq!(
            second.answer.body["error"]["code"],
            "charge_already_refunded"
        );
    }

    #[test]
    fn search_clauses_parse() {
        assert!(matches!(
            parse_clause("metadata['order_id']:'o-1'"),
            Some((Clause::Metadata(k), v)) if k == "order_id" && v == "o-1"
        ));
        assert!(matches!(
            parse_clause("status:\"succeeded\""),
            Some((Clause::Status, _))
        ));
        assert!(parse_clause("amount>100").is_none());
    }
}
