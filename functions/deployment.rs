//! How the services are split across Function Apps in Azure. Every app runs
//! the same package; each enables only its own functions by disabling the
//! others (`AzureWebJobs.<name>.Disabled`), so a busy service scales alone.
//! The default app holds every service no other app names (and so, in the
//! `single` split, all of them). `jojomart manifest` writes the splits to
//! `bicep/functionapps.json`, which `bicep/main.bicep` reads with
//! `loadJsonContent`, and `manifest --check` fails when it is stale.

use std::path::Path;

use serde_json::{json, Value};

use crate::{
    manifest::ManifestError,
    table::{functions_of, ServiceDef, Trigger},
};

/// The app that holds every service no other app of the split names.
pub const DEFAULT_APP: &str = "api";

/// Where the splits are written, under the app root.
pub const SPLITS_FILE: &str = "bicep/functionapps.json";

/// The split names, the Bicep parameter `appSplit`'s allowed values.
pub const SPLITS: [&str; 3] = ["single", "catalog", "per-service"];

/// One Function App of a split: its name and its services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppDef {
    /// Short name (`api`, `catalog`, `orders`), part of the Function App's name.
    pub name: &'static str,
    /// The services whose functions it enables.
    pub services: Vec<&'static str>,
}

/// The apps of `split` for `services`, the default app first.
pub fn apps(split: &str, services: &[ServiceDef]) -> Vec<AppDef> {
    let with_functions: Vec<&'static str> = services
        .iter()
        .filter(|s| !s.functions.is_empty())
        .map(|s| s.name)
        .collect();
    let others: Vec<AppDef> = match split {
        "catalog" => vec![AppDef {
            name: "catalog",
            services: vec![
                crate::products::service().name,
                crate::reviews::service().name,
            ],
        }],
        "per-service" => with_functions
            .iter()
            .filter(|s| **s != "platform")
            .map(|s| AppDef {
                name: s,
                services: vec![s],
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut others: Vec<AppDef> = others
        .into_iter()
        .map(|mut app| {
            app.services.retain(|s| with_functions.contains(s));
            app
        })
        .filter(|app| !app.services.is_empty())
        .collect();
    let taken: Vec<&str> = others.iter().flat_map(|a| a.services.clone()).collect();
    let default = AppDef {
        name: DEFAULT_APP,
        services: services
            .iter()
            .map(|s| s.name)
            .filter(|s| !taken.contains(s))
            .collect(),
    };
    others.insert(0, default);
    others
}

/// The OpenAPI operation ids an HTTP function serves (empty for queue and timer functions).
fn operation_ids(trigger: &Trigger) -> Vec<String> {
    let Trigger::Http { routes, .. } = trigger else {
        return Vec::new();
    };
    let (_, paths, _) = routes();
    paths
        .paths
        .values()
        .flat_map(|item| {
            [
                &item.get,
                &item.post,
                &item.put,
                &item.patch,
                &item.delete,
                &item.head,
                &item.options,
            ]
            .into_iter()
            .flatten()
            .filter_map(|op| op.operation_id.clone())
            .collect::<Vec<_>>()
        })
        .collect()
}

/// The document `bicep/functionapps.json` holds: per split, its apps (each
/// with the functions it enables and the app settings disabling the rest)
/// and the API Management routes of the operations served outside the default app.
pub fn splits_json(services: &[ServiceDef]) -> Value {
    let all = functions_of(services);
    let mut splits = serde_json::Map::new();
    for split in SPLITS {
        let mut entries = Vec::new();
        let mut routes = Vec::new();
        for app in apps(split, services) {
            let mine: Vec<_> = services
                .iter()
                .filter(|s| app.services.contains(&s.name))
                .flat_map(|s| s.functions.iter())
                .collect();
            let enabled: Vec<&str> = mine.iter().map(|f| f.name).collect();
            let disabled: Vec<Value> = all
                .iter()
                .filter(|f| !enabled.contains(&f.name))
                .map(|f| json!({"name": format!("AzureWebJobs.{}.Disabled", f.name), "value": "true"}))
                .collect();
            if app.name != DEFAULT_APP {
                for f in &mine {
                    for operation in operation_ids(&f.trigger) {
                        routes.push(json!({"app": app.name, "operation": operation}));
                    }
                }
            }
            entries.push(json!({
                "name": app.name,
                "services": app.services,
                "functions": enabled,
                "disabledSettings": disabled,
            }));
        }
        splits.insert(split.to_owned(), json!({"apps": entries, "routes": routes}));
    }
    json!({
        "defaultApp": DEFAULT_APP,
        "functions": all.iter().map(|f| f.name).collect::<Vec<_>>(),
        "splits": splits,
    })
}

fn render(services: &[ServiceDef]) -> String {
    let mut text = serde_json::to_string_pretty(&splits_json(services)).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes [`SPLITS_FILE`] under `root`.
///
/// # Errors
/// [`ManifestError::Io`] when it cannot be written.
pub fn write(root: &Path, services: &[ServiceDef]) -> Result<(), ManifestError> {
    let path = root.join(SPLITS_FILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ManifestError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    std::fs::write(&path, render(services)).map_err(|source| ManifestError::Io { path, source })
}

/// Checks that [`SPLITS_FILE`] under `root` is what [`write`] would write.
///
/// # Errors
/// [`ManifestError::Drift`] when it is missing or differs.
pub fn check(root: &Path, services: &[ServiceDef]) -> Result<(), ManifestError> {
    match std::fs::read_to_string(root.join(SPLITS_FILE)) {
        Ok(text) if text == render(services) => Ok(()),
        Ok(_) => Err(ManifestError::Drift(format!("{SPLITS_FILE} differs"))),
        Err(_) => Err(ManifestError::Drift(format!("{SPLITS_FILE} is missing"))),
    }
}
