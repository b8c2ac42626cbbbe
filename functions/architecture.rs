//! Tests of the code's shape, read from the source tree: services call each
//! other one way only, and no container or queue name is spelled outside the
//! service that owns it.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use crate::{registry, table::ServiceDef};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The crate-level modules a source file names: the first segment of every
/// `crate::…` path, including each item of a `use crate::{…}` group.
fn crate_modules_named(source: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // A `use crate::{a, b::{c}, …}` group: take each top-level item's first segment.
            let mut depth = 1;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        named.extend(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    named.extend(first_segment(&item));
                    break;
                }
                if depth == 1 {
                    item.push(ch);
                } else if !item.contains("::") {
                    item.push_str("::");
                }
            }
        } else {
            named.extend(first_segment(rest));
        }
    }
    named
}

fn first_segment(path: &str) -> Option<String> {
    let segment: String = path
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!segment.is_empty()).then_some(segment)
}

/// Which service folders each service folder's code names.
fn service_graph(services: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for service in services {
        let mut calls = BTreeSet::new();
        for file in rust_files(&root().join("functions").join(service)) {
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            calls.extend(
                crate_modules_named(&source)
                    .into_iter()
                    .filter(|m| m != service && services.contains(&m.as_str())),
            );
        }
        graph.insert(service.to_string(), calls);
    }
    graph
}

/// A cycle in `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn service_names(services: &[ServiceDef]) -> Vec<&'static str> {
    services.iter().map(|s| s.name).collect()
}

#[test]
fn services_call_each_other_one_way_only() {
    let services = registry::services();
    let names = service_names(&services);
    for name in &names {
        assert!(
            root().join("functions").join(name).join("mod.rs").is_file(),
            "the {name} service has no functions/{name}/mod.rs: a service's name is its folder"
        );
    }
    let graph = service_graph(&names);
    assert!(
        graph.values().any(|calls| !calls.is_empty()),
        "the scan found no call between services at all; it is not reading the sources"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("services call each other in a cycle: {}", cycle.join(" → "));
    }
    // The calls DESIGN.md describes, so a scan that silently stopped seeing them fails.
    assert!(graph["reviews"].contains("products"), "{graph:?}");
    assert!(graph["auth"].contains("users"), "{graph:?}");
    assert!(!graph["products"].contains("reviews"), "{graph:?}");
}

#[test]
fn the_use_line_reader_sees_grouped_and_inline_paths() {
    let source = "use crate::{\n    products::{self, model::X},\n    state::AppState, users,\n};\nfn f() { crate::reviews::service::g(); }";
    let named = crate_modules_named(source);
    for m in ["products", "state", "users", "reviews"] {
        assert!(named.contains(m), "{m} in {named:?}");
    }
    assert!(!named.contains("model"), "{named:?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(find_cycle(&edges(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(
        find_cycle(&edges(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// Where a name may be spelled as a string literal besides its owner's folder,
/// and why: (name, file, reason).
const ALSO_SPELLED_AT: &[(&str, &str, &str)] = &[
    (
        "system",
        "shared/src/store/containers.rs",
        "the store's own container, which the Cosmos adapter needs for its cursor key",
    ),
    (
        "cache",
        "shared/src/cache/store.rs",
        "the store-backed cache's container, which the adapters open before any service starts",
    ),
    (
        "cache",
        "tests/api/throttle.rs",
        "the health report's `cache` field, not the container",
    ),
    (
        "reviews",
        "functions/users/service.rs",
        "the export's `reviews` section the contract names, not the container",
    ),
    (
        "reviews",
        "tests/api/users.rs",
        "the export's `reviews` section the contract names, not the container",
    ),
    (
        "orders",
        "functions/users/service.rs",
        "the export's `orders` section the contract names, not the container",
    ),
    (
        "orders",
        "tests/api/users.rs",
        "the export's `orders` section the contract names, not the container",
    ),
    (
        "orders",
        "tests/api/orders.rs",
        "the export's `orders` section the contract names, not the container",
    ),
    (
        "orders",
        "tests/api/analytics.rs",
        "the analytics summary's `orders` figure the contract names, not the container",
    ),
    (
        "notifications",
        "functions/users/service.rs",
        "the export's `notifications` section the contract names, not the queue",
    ),
    (
        "notifications",
        "tests/api/users.rs",
        "the export's `notifications` section the contract names, not the queue",
    ),
    (
        "notifications",
        "tests/api/notifications.rs",
        "the export's `notifications` section the contract names, not the queue",
    ),
    (
        "notifications-poison",
        "shared/src/queue/azure.rs",
        "an example of a valid queue name in the name validator's test",
    ),
];

/// Files and folders scanned for names: all Rust code, scripts and the
/// local settings (Bicep and the generated function.json folders are declarations).
const SCANNED: &[&str] = &[
    "functions",
    "shared/src",
    "shared/tests",
    "tests",
    "benches",
    "scripts",
];

/// The places outside its owner's folder that spell `name` as a string literal.
fn strays(name: &str, owner_dir: &Path, files: &[PathBuf]) -> Vec<String> {
    let literal = format!("\"{name}\"");
    let mut found = Vec::new();
    for file in files {
        if file.starts_with(owner_dir) {
            continue;
        }
        let relative = file
            .strip_prefix(root())
            .unwrap_or(file)
            .display()
            .to_string();
        if ALSO_SPELLED_AT
            .iter()
            .any(|(n, f, _)| *n == name && *f == relative)
            || relative == "functions/architecture.rs"
        {
            continue;
        }
        let source = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in source.lines().enumerate() {
            // OpenAPI tags name the API's sections, not containers.
            let without_tag = line.replace(&format!("tag = {literal}"), "");
            if without_tag.contains(&literal) {
                found.push(format!("{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_container_or_queue_name_is_spelled_outside_its_service() {
    let files: Vec<PathBuf> = SCANNED
        .iter()
        .flat_map(|dir| {
            let path = root().join(dir);
            if path.is_dir() {
                rust_files(&path)
            } else {
                Vec::new()
            }
        })
        .chain(
            std::fs::read_dir(root().join("scripts"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file()),
        )
        .collect();
    assert!(
        files.len() > 50,
        "the scan found only {} files",
        files.len()
    );
    let services = registry::services();
    // A queue belongs to the service that reads it (writers name it through
    // the reader's constant); a queue nobody reads yet belongs to its writer.
    let mut queue_owner: BTreeMap<&str, &str> = BTreeMap::new();
    for service in &services {
        for queue in &service.writes {
            queue_owner.entry(queue).or_insert(service.name);
        }
    }
    for service in &services {
        for queue in &service.reads {
            queue_owner.insert(queue, service.name);
        }
    }
    let mut stray = Vec::new();
    for service in &services {
        let owner = root().join("functions").join(service.name);
        for container in &service.containers {
            stray.extend(strays(container.name, &owner, &files));
        }
    }
    for (queue, service) in queue_owner {
        let owner = root().join("functions").join(service);
        for name in [
            queue.to_string(),
            jojomart_shared::queue::poison_queue(queue),
        ] {
            stray.extend(strays(&name, &owner, &files));
        }
    }
    assert!(
        stray.is_empty(),
        "names spelled outside their service:\n{}",
        stray.join("\n")
    );
}

#[test]
fn the_name_scan_sees_a_stray_literal() {
    let dir = tempfile_dir();
    let file = dir.join("stray.rs");
    std::fs::write(
        &file,
        "fn f() { store.read(\"users\", a, b); }\n#[utoipa::path(tag = \"users\")]\n",
    )
    .unwrap();
    let found = strays("users", &root().join("functions/users"), &[file]);
    assert_eq!(found.len(), 1, "{found:?}");
    std::fs::remove_dir_all(dir).ok();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jojomart-arch-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
