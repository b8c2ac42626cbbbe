//! `jojomart manifest [--check]`: writes (or checks) one `<FunctionName>/function.json`
//! per function, derived from the table, so the Functions host and our router
//! can never disagree.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use serde_json::{json, Value};

use crate::{
    table::{http_endpoint, FunctionDef, Trigger},
    wire::{QUEUE_BINDING, TIMER_BINDING},
};

/// The connection setting every queue binding uses.
pub const STORAGE_CONNECTION: &str = "AzureWebJobsStorage";

/// The function.json of one function.
pub fn function_json(function: &FunctionDef) -> Value {
    let mut bindings = match &function.trigger {
        Trigger::Http { routes, auth_level } => {
            let endpoint = http_endpoint(*routes);
            let route = endpoint
                .path
                .strip_prefix("/api/")
                .unwrap_or(&endpoint.path)
                .to_owned();
            vec![
                json!({"type": "httpTrigger", "direction": "in", "name": "req",
                       "authLevel": auth_level.as_str(), "methods": endpoint.methods, "route": route}),
                json!({"type": "http", "direction": "out", "name": "res"}),
            ]
        }
        Trigger::Queue { queue, .. } => vec![json!({"type": "queueTrigger", "direction": "in",
            "name": QUEUE_BINDING, "queueName": queue, "connection": STORAGE_CONNECTION})],
        Trigger::Timer { schedule, .. } => vec![
            json!({"type": "timerTrigger", "direction": "in", "name": TIMER_BINDING,
            "schedule": schedule, "runOnStartup": false, "useMonitor": true}),
        ],
    };
    for output in &function.outputs {
        bindings.push(
            json!({"type": "queue", "direction": "out", "name": output.name,
            "queueName": output.queue, "connection": STORAGE_CONNECTION}),
        );
    }
    json!({ "bindings": bindings })
}

/// The file text of a function.json (pretty, with a final newline).
fn render(function: &FunctionDef) -> String {
    let mut text = serde_json::to_string_pretty(&function_json(function)).unwrap_or_default();
    text.push('\n');
    text
}

/// Why the manifest is not what the table says.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Committed folders differ from the table.
    #[error("function.json folders are out of date (run `jojomart manifest`): {0}")]
    Drift(String),
    /// The folders could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ManifestError + '_ {
    move |source| ManifestError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Folders under `root` that hold a function.json.
fn existing_functions(root: &Path) -> Result<BTreeSet<String>, ManifestError> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(root).map_err(io(root))? {
        let entry = entry.map_err(io(root))?;
        if entry.path().join("function.json").is_file() {
            names.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}

/// Writes every function's folder and removes folders of functions that no longer exist.
///
/// # Errors
/// [`ManifestError::Io`] when a file cannot be written.
pub fn write(root: &Path, functions: &[FunctionDef]) -> Result<usize, ManifestError> {
    let wanted: BTreeSet<&str> = functions.iter().map(|f| f.name).collect();
    for stale in existing_functions(root)? {
        if !wanted.contains(stale.as_str()) {
            let path = root.join(&stale).join("function.json");
            std::fs::remove_file(&path).map_err(io(&path))?;
            let _ = std::fs::remove_dir(root.join(&stale));
        }
    }
    for function in functions {
        let dir = root.join(function.name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join("function.json");
        std::fs::write(&path, render(function)).map_err(io(&path))?;
    }
    Ok(functions.len())
}

/// Checks that the folders under `root` are exactly what [`write`] would produce.
///
/// # Errors
/// [`ManifestError::Drift`] naming every missing, stale or changed folder.
pub fn check(root: &Path, functions: &[FunctionDef]) -> Result<usize, ManifestError> {
    let mut problems = Vec::new();
    let wanted: BTreeSet<&str> = functions.iter().map(|f| f.name).collect();
    for stale in existing_functions(root)? {
        if !wanted.contains(stale.as_str()) {
            problems.push(format!("{stale}/ is not in the function table"));
        }
    }
    for function in functions {
        let path = root.join(function.name).join("function.json");
        match std::fs::read_to_string(&path) {
            Ok(text) if text == render(function) => {}
            Ok(_) => problems.push(format!("{}/function.json differs", function.name)),
            Err(_) => problems.push(format!("{}/function.json is missing", function.name)),
        }
    }
    if problems.is_empty() {
        Ok(functions.len())
    } else {
        Err(ManifestError::Drift(problems.join("; ")))
    }
}
