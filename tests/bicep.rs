//! Every container and queue the code names is declared in Bicep, with the
//! same partition key: in Azure the app has data-plane rights only and cannot
//! create them itself.

use jojomart_shared::{
    queue::{poison_queue, QUEUES},
    store::containers::ALL,
};

fn read(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn every_container_is_declared_with_its_partition_key() {
    let cosmos = read("bicep/modules/cosmos.bicep");
    for c in ALL.iter().filter(|c| c.name != "conformance") {
        let name = format!("name: '{}'", c.name);
        let at = cosmos
            .find(&name)
            .unwrap_or_else(|| panic!("bicep/modules/cosmos.bicep lacks container `{}`", c.name));
        let entry = &cosmos[at..];
        let entry = &entry[..entry.find("\n  {").unwrap_or(entry.len())];
        let want = format!("partitionKey: '/{}'", c.partition_key);
        assert!(
            entry.contains(&want),
            "container `{}` must have {want} in Bicep",
            c.name
        );
        let default_index = format!(
            "[ {{ path: '/{}', order: 'ascending' }}, {{ path: '/id', order: 'ascending' }} ]",
            c.partition_key
        );
        assert!(
            entry.contains(&default_index),
            "container `{}` lacks the (partition key, id) composite index",
            c.name
        );
    }
}

#[test]
fn every_queue_and_its_poison_twin_is_declared() {
    let storage = read("bicep/modules/storage.bicep");
    for q in QUEUES {
        for name in [q.to_string(), poison_queue(q)] {
            assert!(
                storage.contains(&format!("'{name}'")),
                "bicep/modules/storage.bicep lacks queue `{name}`"
            );
        }
    }
}

#[test]
fn every_function_queue_is_a_declared_queue() {
    for f in jojomart::registry::functions() {
        if let jojomart::table::Trigger::Queue { queue, .. } = f.trigger {
            assert!(
                QUEUES.contains(&queue),
                "{} reads `{queue}`, which is not in QUEUES",
                f.name
            );
        }
        for o in &f.outputs {
            assert!(
                QUEUES.contains(&o.queue),
                "{} writes `{}`, which is not in QUEUES",
                f.name,
                o.queue
            );
        }
    }
}
