//! What the Azure front door needs, checked without Azure: the API Management
//! policy files are well-formed XML made of policies API Management knows, with
//! the per-client and auth rate limits and the storefront CORS; the operations
//! routed to other Function Apps exist in the OpenAPI document; every HTTP
//! function needs a function key except health and the payment webhook; and in
//! every split of the services across Function Apps, each function is enabled
//! in exactly one app.

use std::collections::BTreeSet;

use jojomart::{
    deployment::{self, DEFAULT_APP, SPLITS},
    table::{AuthLevel, Trigger},
};
use quick_xml::{events::Event, Reader};
use serde_json::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The policy elements our XML may use (API Management's names).
const KNOWN_POLICY_ELEMENTS: &[&str] = &[
    "policies",
    "inbound",
    "backend",
    "outbound",
    "on-error",
    "base",
    "fragment",
    "cors",
    "allowed-origins",
    "origin",
    "allowed-methods",
    "method",
    "allowed-headers",
    "header",
    "expose-headers",
    "rate-limit-by-key",
    "choose",
    "when",
    "otherwise",
    "set-backend-service",
];

/// One element of a policy document: its name, attributes and parent's name.
#[derive(Debug)]
struct Element {
    name: String,
    parent: String,
    attributes: Vec<(String, String)>,
    text: String,
}

/// Parses `xml` strictly (well-formed, one root), returning its elements in order.
fn elements(xml: &str) -> Result<Vec<Element>, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut out: Vec<Element> = Vec::new();
    let mut roots = 0;
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                if !text.trim().is_empty() {
                    if stack.is_empty() {
                        return Err(format!("text outside the root: {text}"));
                    }
                    if let Some(last) = out.last_mut() {
                        last.text.push_str(text.trim());
                    }
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let e = start.expect("a start tag");
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        if stack.is_empty() {
            roots += 1;
        }
        let mut attributes = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            attributes.push((
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                value.into_owned(),
            ));
        }
        out.push(Element {
            name: name.clone(),
            parent: stack.last().cloned().unwrap_or_default(),
            attributes,
            text: String::new(),
        });
        if !empty {
            stack.push(name);
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(out)
}

/// What is wrong with a policy document, one line each.
fn policy_problems(xml: &str) -> Vec<String> {
    let elements = match elements(xml) {
        Ok(e) => e,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    elements
        .iter()
        .filter(|e| !KNOWN_POLICY_ELEMENTS.contains(&e.name.as_str()))
        .map(|e| format!("unknown policy element <{}>", e.name))
        .collect()
}

fn attribute<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
    e.attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The API policy as bicep/modules/apim.bicep assembles it.
fn assembled_api_policy(origin: &str, rate_limited: bool) -> String {
    let fragment = |t: String| t.replace("<fragment>", "").replace("</fragment>", "");
    let cors = fragment(read("bicep/apim/cors.xml")).replace("__STOREFRONT_ORIGIN__", origin);
    let limits = if rate_limited {
        fragment(read("bicep/apim/rate-limits.xml"))
            .replace("__CALLS_PER_MINUTE__", "600")
            .replace("__AUTH_CALLS_PER_MINUTE__", "20")
    } else {
        String::new()
    };
    read("bicep/apim/api-policy.xml")
        .replace("<!--CORS-->", &cors)
        .replace("<!--RATE-LIMITS-->", &limits)
        .replace("__DEFAULT_BACKEND__", "app-api")
}

#[test]
fn every_policy_file_is_well_formed_and_uses_known_policies_only() {
    for file in [
        "bicep/apim/api-policy.xml",
        "bicep/apim/operation-policy.xml",
        "bicep/apim/cors.xml",
        "bicep/apim/rate-limits.xml",
    ] {
        let problems = policy_problems(&read(file));
        assert!(problems.is_empty(), "{file}: {}", problems.join("; "));
    }
    let assembled = assembled_api_policy("https://shop.example", true);
    let problems = policy_problems(&assembled);
    assert!(problems.is_empty(), "assembled: {}", problems.join("; "));
    // and the check does catch a broken or unknown policy
    assert!(!policy_problems("<policies><inbound></policies>").is_empty());
    assert_eq!(
        policy_problems("<policies><inbound><rate-limit calls=\"1\" /></inbound></policies>"),
        ["unknown policy element <rate-limit>"]
    );
}

#[test]
fn the_api_policy_limits_each_client_and_auth_routes_more_strictly() {
    let xml = assembled_api_policy("https://shop.example", true);
    let elements = elements(&xml).unwrap();
    let limits: Vec<&Element> = elements
        .iter()
        .filter(|e| e.name == "rate-limit-by-key")
        .collect();
    assert_eq!(limits.len(), 2, "a general and an auth limit: {xml}");
    let general = limits.iter().find(|e| e.parent == "inbound").unwrap();
    assert_eq!(
        attribute(general, "counter-key"),
        Some("@(context.Request.IpAddress)")
    );
    assert_eq!(attribute(general, "calls"), Some("600"));
    let auth = limits.iter().find(|e| e.parent == "when").unwrap();
    assert_eq!(attribute(auth, "calls"), Some("20"));
    assert!(attribute(auth, "counter-key")
        .unwrap()
        .contains("context.Request.IpAddress"));
    let when = elements.iter().find(|e| e.name == "when").unwrap();
    assert!(
        attribute(when, "condition")
            .unwrap()
            .contains("StartsWith(\"/api/auth/\")"),
        "the stricter limit is on /api/auth/*"
    );
    let calls = |x: &str| x.parse::<u32>().unwrap();
    assert!(calls(attribute(auth, "calls").unwrap()) < calls(attribute(general, "calls").unwrap()));
    // the backend is the default app's, after the limits
    let backend = elements
        .iter()
        .find(|e| e.name == "set-backend-service")
        .unwrap();
    assert_eq!(attribute(backend, "backend-id"), Some("app-api"));

    // Bicep fills the placeholders it replaces, and only those
    let bicep = read("bicep/modules/apim.bicep");
    for placeholder in [
        "__STOREFRONT_ORIGIN__",
        "__CALLS_PER_MINUTE__",
        "__AUTH_CALLS_PER_MINUTE__",
        "__DEFAULT_BACKEND__",
        "__BACKEND__",
        "<!--CORS-->",
        "<!--RATE-LIMITS-->",
    ] {
        assert!(
            bicep.contains(&format!("'{placeholder}'")),
            "apim.bicep fills {placeholder}"
        );
    }
}

#[test]
fn cors_allows_the_storefront_origin_and_the_headers_the_app_reads() {
    let xml = assembled_api_policy("https://shop.example", false);
    let elements = elements(&xml).unwrap();
    let cors = elements.iter().find(|e| e.name == "cors").unwrap();
    assert_eq!(attribute(cors, "allow-credentials"), Some("false"));
    let texts = |parent: &str| -> BTreeSet<String> {
        elements
            .iter()
            .filter(|e| e.parent == parent)
            .map(|e| e.text.to_ascii_lowercase())
            .collect()
    };
    assert_eq!(
        texts("allowed-origins"),
        BTreeSet::from(["https://shop.example".to_owned()])
    );
    for header in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-cart-id",
        "x-order-token",
    ] {
        assert!(
            texts("allowed-headers").contains(header),
            "{header} is allowed"
        );
    }
    for header in ["x-cart-id", "x-request-id"] {
        assert!(
            texts("expose-headers").contains(header),
            "{header} is exposed"
        );
    }
    assert!(
        !elements.iter().any(|e| e.name == "rate-limit-by-key"),
        "no rate-limit-by-key where the tier lacks it"
    );
}

fn splits() -> Value {
    serde_json::from_str(&read(deployment::SPLITS_FILE)).unwrap()
}

/// What is wrong with the splits document for these functions, one line each.
fn split_problems(doc: &Value, functions: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for split in SPLITS {
        let apps = doc["splits"][split]["apps"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if apps.first().map(|a| a["name"].clone()) != Some(Value::from(DEFAULT_APP)) {
            problems.push(format!(
                "{split}: the default app `{DEFAULT_APP}` is not first"
            ));
        }
        for f in functions {
            let enabled: Vec<&str> = apps
                .iter()
                .filter(|a| {
                    a["functions"]
                        .as_array()
                        .is_some_and(|fs| fs.iter().any(|x| x == f))
                })
                .filter_map(|a| a["name"].as_str())
                .collect();
            if enabled.len() != 1 {
                problems.push(format!("{split}: {f} is enabled in {enabled:?}"));
            }
            for app in &apps {
                let mine = app["functions"]
                    .as_array()
                    .is_some_and(|fs| fs.iter().any(|x| x == f));
                let setting = format!("AzureWebJobs.{f}.Disabled");
                let disabled = app["disabledSettings"].as_array().is_some_and(|s| {
                    s.iter()
                        .any(|x| x["name"] == setting.as_str() && x["value"] == "true")
                });
                if mine == disabled {
                    problems.push(format!(
                        "{split}: app {} {} {setting}",
                        app["name"],
                        if mine { "enables and sets" } else { "lacks" }
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn every_function_is_enabled_in_exactly_one_app_of_each_split() {
    let names: Vec<&str> = jojomart::registry::functions()
        .iter()
        .map(|f| f.name)
        .collect();
    let doc = splits();
    let problems = split_problems(&doc, &names);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        doc["splits"]["per-service"]["apps"]
            .as_array()
            .unwrap()
            .len()
            > 2,
        "per-service gives services their own apps"
    );
    // a function enabled twice, or nowhere, is caught
    let mut twice = doc.clone();
    let apps = twice["splits"]["catalog"]["apps"].as_array_mut().unwrap();
    apps[0]["functions"]
        .as_array_mut()
        .unwrap()
        .push(Value::from("list-products"));
    assert!(split_problems(&twice, &names)
        .iter()
        .any(|p| p.contains("catalog: list-products is enabled in [\"api\", \"catalog\"]")));
    let mut nowhere = names.clone();
    nowhere.push("ghost-function");
    assert!(split_problems(&doc, &nowhere)
        .iter()
        .any(|p| p.contains("ghost-function is enabled in []")));

    // main.bicep offers exactly these splits
    let main = read("bicep/main.bicep");
    for split in SPLITS {
        assert!(
            main.contains(&format!("  '{split}'\n")),
            "main.bicep allows `{split}`"
        );
    }
    assert!(main.contains("loadJsonContent('functionapps.json')"));
}

#[test]
fn operations_routed_to_other_apps_exist_in_the_openapi_document() {
    let doc: Value = serde_json::from_str(&jojomart::openapi::document(
        &jojomart::registry::functions(),
    ))
    .unwrap();
    let mut operations = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(
                    operations.insert(id.to_owned()),
                    "operationId {id} is unique"
                );
            }
        }
    }
    for path in doc["paths"].as_object().unwrap().keys() {
        assert!(
            path.starts_with("/api/"),
            "API Management serves the API at the root: {path}"
        );
    }
    let splits = splits();
    for split in SPLITS {
        for route in splits["splits"][split]["routes"].as_array().unwrap() {
            let op = route["operation"].as_str().unwrap();
            assert!(
                operations.contains(op),
                "{split}: `{op}` is not an operation"
            );
            assert_ne!(route["app"], DEFAULT_APP);
        }
    }
}

#[test]
fn http_functions_need_a_function_key_except_health_and_the_payment_webhook() {
    for f in jojomart::registry::functions() {
        let Trigger::Http { auth_level, .. } = f.trigger else {
            continue;
        };
        let want = match f.name {
            "get-health" | "payment-webhook" => AuthLevel::Anonymous,
            _ => AuthLevel::Function,
        };
        assert_eq!(auth_level, want, "{}", f.name);
        let committed: Value =
            serde_json::from_str(&read(&format!("{}/function.json", f.name))).unwrap();
        assert_eq!(
            committed["bindings"][0]["authLevel"],
            want.as_str(),
            "{}/function.json",
            f.name
        );
    }
}
