//! Every container and queue a service declares is in Bicep, with the same
//! partition key and time-to-live: in Azure the app has data-plane rights only
//! and cannot create them itself. The lists come from the service descriptors.

use jojomart::table::{containers_of, functions_of, queues_of, ServiceDef, Trigger};
use jojomart_shared::{queue::poison_queue, store::Container};

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// What Bicep gets wrong about `services`' containers, one line each.
fn container_drift(services: &[ServiceDef], cosmos: &str) -> Vec<String> {
    let mut drift = Vec::new();
    for c in containers_of(services) {
        let Some(at) = cosmos.find(&format!("name: '{}'", c.name)) else {
            drift.push(format!(
                "bicep/modules/cosmos.bicep lacks container `{}`",
                c.name
            ));
            continue;
        };
        let entry = &cosmos[at..];
        // up to the next entry, or the end of the list for the last one
        let end = [entry.find("\n  {"), entry.find("\n]")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(entry.len());
        let entry = &entry[..end];
        let want = format!("partitionKey: '{}'", c.partition_key_path());
        if !entry.contains(&want) {
            drift.push(format!("container `{}` must have {want} in Bicep", c.name));
        }
        let default_index = format!(
            "[ {{ path: '/{}', order: 'ascending' }}, {{ path: '/id', order: 'ascending' }} ]",
            c.partition_key
        );
        if !entry.contains(&default_index) {
            drift.push(format!(
                "container `{}` lacks the (partition key, id) composite index",
                c.name
            ));
        }
        let ttl = c.ttl.default_ttl().map(|t| format!("defaultTtl: {t}"));
        match ttl {
            Some(want) if !entry.contains(&want) => {
                drift.push(format!("container `{}` must have {want} in Bicep", c.name))
            }
            None if entry.contains("defaultTtl:") => drift.push(format!(
                "container `{}` has a defaultTtl in Bicep but none in its service",
                c.name
            )),
            _ => {}
        }
    }
    drift
}

#[test]
fn every_declared_container_is_in_bicep_with_its_partition_key_and_ttl() {
    let drift = container_drift(
        &jojomart::registry::services(),
        &read("bicep/modules/cosmos.bicep"),
    );
    assert!(drift.is_empty(), "{}", drift.join("\n"));
}

#[test]
fn a_container_missing_from_bicep_fails_the_check() {
    const GHOSTS: &Container = &Container::new("ghosts", "ghostId");
    const SYSTEM_WITH_TTL: &Container = &jojomart_shared::store::containers::SYSTEM
        .with_ttl(jojomart_shared::store::Ttl::Seconds(60));
    let cosmos = read("bicep/modules/cosmos.bicep");
    let ghostly = [ServiceDef::new("ghosts").containers(&[GHOSTS])];
    assert_eq!(
        container_drift(&ghostly, &cosmos),
        ["bicep/modules/cosmos.bicep lacks container `ghosts`"]
    );
    let expiring = [ServiceDef::new("expiring").containers(&[SYSTEM_WITH_TTL])];
    assert_eq!(
        container_drift(&expiring, &cosmos),
        ["container `system` must have defaultTtl: 60 in Bicep"]
    );
}

#[test]
fn every_declared_queue_and_its_poison_twin_is_in_bicep() {
    let storage = read("bicep/modules/storage.bicep");
    for q in queues_of(&jojomart::registry::services()) {
        for name in [q.to_string(), poison_queue(q)] {
            assert!(
                storage.contains(&format!("'{name}'")),
                "bicep/modules/storage.bicep lacks queue `{name}`"
            );
        }
    }
}

#[test]
fn every_function_reads_a_queue_its_service_declares() {
    for service in jojomart::registry::services() {
        for f in functions_of(std::slice::from_ref(&service)) {
            if let Trigger::Queue { queue, .. } = f.trigger {
                assert!(
                    service.reads.contains(&queue),
                    "{} reads `{queue}`, which the {} service does not declare",
                    f.name,
                    service.name
                );
            }
            for o in &f.outputs {
                assert!(
                    service.writes.contains(&o.queue),
                    "{} writes `{}`, which the {} service does not declare",
                    f.name,
                    o.queue,
                    service.name
                );
            }
        }
    }
}
