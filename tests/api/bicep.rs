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

/// Every `.bicep` file under bicep/.
fn bicep_files() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bicep");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "bicep") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Bicep's lexical shape: strings ('...', with \' escapes and '''...''' blocks)
/// and comments closed, and (), [], {} balanced outside them. Returns the first
/// problem with its line. (No Bicep compiler installs from the registries these
/// machines reach; this and the cross-checks are what validate the syntax.)
fn lexical_problem(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut stack: Vec<(char, usize)> = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = line;
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            if i + 1 >= chars.len() {
                return Some(format!("line {start}: unclosed comment"));
            }
            i += 2;
            continue;
        }
        if c == '\'' {
            let start = line;
            if chars.get(i + 1) == Some(&'\'') && chars.get(i + 2) == Some(&'\'') {
                i += 3;
                while i + 2 < chars.len()
                    && !(chars[i] == '\'' && chars[i + 1] == '\'' && chars[i + 2] == '\'')
                {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                if i + 2 >= chars.len() {
                    return Some(format!("line {start}: unclosed multi-line string"));
                }
                i += 3;
                continue;
            }
            i += 1;
            let mut depth = 0; // ${ ... } interpolation
            loop {
                match chars.get(i) {
                    None | Some('\n') => return Some(format!("line {start}: unclosed string")),
                    Some('\\') => i += 1,
                    Some('$') if chars.get(i + 1) == Some(&'{') => {
                        depth += 1;
                        i += 1;
                    }
                    Some('}') if depth > 0 => depth -= 1,
                    Some('\'') if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        match c {
            '(' | '[' | '{' => stack.push((c, line)),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match stack.pop() {
                    Some((open, _)) if open == want => {}
                    Some((open, at)) => {
                        return Some(format!("line {line}: `{c}` closes `{open}` of line {at}"))
                    }
                    None => return Some(format!("line {line}: `{c}` closes nothing")),
                }
            }
            _ => {}
        }
        i += 1;
    }
    stack
        .pop()
        .map(|(open, at)| format!("line {at}: `{open}` is never closed"))
}

#[test]
fn every_bicep_file_is_lexically_sound_and_refers_to_files_that_exist() {
    let files = bicep_files();
    assert!(files.len() >= 8, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if let Some(problem) = lexical_problem(&text) {
            panic!("{}: {problem}", file.display());
        }
        for path in referenced_files(&text) {
            let target = file.parent().unwrap().join(&path);
            assert!(
                target.is_file(),
                "{} refers to {path}, which does not exist",
                file.display()
            );
        }
    }
    // the check catches what it is for
    assert!(lexical_problem("param a string = 'x\nparam b int").is_some());
    assert!(lexical_problem("var x = [ { a: 1 ]").is_some());
    assert_eq!(
        lexical_problem("var s = 'it\\'s ${concat('a', 'b')}'\nvar t = { a: [ 1 ] }"),
        None
    );
}

/// The files a Bicep text loads or uses as modules.
fn referenced_files(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for marker in ["loadTextContent('", "loadJsonContent('", "module "] {
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            let candidate = if marker == "module " {
                // module <name> '<path>'
                rest.split_once('\'')
                    .and_then(|(_, r)| r.split_once('\''))
                    .map(|(p, _)| p)
            } else {
                rest.split_once('\'').map(|(p, _)| p)
            };
            if let Some(p) = candidate
                .filter(|p| p.ends_with(".bicep") || p.ends_with(".xml") || p.ends_with(".json"))
            {
                paths.push(p.to_owned());
            }
        }
    }
    paths
}

#[test]
fn the_template_is_secure_by_default_and_redeployable() {
    let access = read("bicep/modules/access.bicep");
    assert!(
        access.contains("b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
        "Storage Blob Data Owner for the host's storage"
    );
    assert!(
        !access.contains("17d1049b-9a84-46fb-8f53-869881c3d3ab"),
        "no Storage Account Contributor"
    );
    let vault = read("bicep/modules/keyvault.bicep");
    assert!(
        vault.contains("createMode: createMode"),
        "a soft-deleted vault can be recovered"
    );
    assert!(
        vault.contains("enablePurgeProtection: purgeProtection ? true : null"),
        "purge protection is a parameter, never false"
    );
    let main = read("bicep/main.bicep");
    assert!(main.contains("param keyVaultPurgeProtection bool"));
    assert!(main.contains("param keyVaultCreateMode string"));
    assert!(
        main.contains("'westeurope'") && main.contains("@allowed(["),
        "the region is checked against Flex Consumption's"
    );
    for secret in ["jwtSigningKey", "stripeSecretKey", "stripeWebhookSecret"] {
        assert!(
            main.contains(&format!("@secure()\nparam {secret} string = ''")),
            "{secret} is an optional secure parameter"
        );
    }
    let app = read("bicep/modules/functionapp.bicep");
    assert!(app.contains("ftpsState: 'Disabled'") && app.contains("http20Enabled: true"));
    assert_eq!(
        app.matches("@Microsoft.KeyVault(").count(),
        1,
        "Key Vault references only through secretSettings, built from the secrets created"
    );
    let cosmos = read("bicep/modules/cosmos.bicep");
    assert!(cosmos.contains("disableKeyBasedMetadataWriteAccess: true"));
    // Entra ID settings are the ones shared/src/auth/config.rs reads
    let config = read("shared/src/auth/config.rs");
    for setting in [
        "JOJOMART_ENTRA_TENANT_ID",
        "JOJOMART_ENTRA_AUDIENCE",
        "JOJOMART_ENTRA_AUTHORITY",
    ] {
        assert!(
            app.contains(&format!("'{setting}'")),
            "functionapp.bicep sets {setting}"
        );
        assert!(
            config.contains(&format!("\"{setting}\"")),
            "config reads {setting}"
        );
    }
}

#[test]
fn every_main_bicep_parameter_is_documented_in_the_readme() {
    let main = read("bicep/main.bicep");
    let readme = read("README.md");
    let deploy = &readme[readme
        .find("## Deploy to Azure")
        .expect("a Deploy to Azure section")..];
    for line in main.lines() {
        if let Some(rest) = line.strip_prefix("param ") {
            let name = rest.split_whitespace().next().unwrap();
            assert!(
                deploy.contains(&format!("`{name}`")),
                "README's Deploy to Azure documents `{name}`"
            );
        }
    }
}

#[test]
fn every_accepted_checkov_finding_says_why() {
    let config = read("bicep/.checkov.yaml");
    let skips: Vec<&str> = config
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("- CKV"))
        .collect();
    assert!(!skips.is_empty());
    for line in skips {
        let reason = line.split_once('#').map(|(_, r)| r.trim()).unwrap_or("");
        assert!(
            reason.len() >= 20,
            "bicep/.checkov.yaml: `{line}` needs its reason"
        );
    }
    let accepted: Vec<&str> = config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for fixed in ["CKV_AZURE_78", "CKV_AZURE_18", "CKV_AZURE_132"] {
        assert!(
            !accepted.contains(&fixed),
            "{fixed} (FTPS, HTTP/2, Cosmos key-based metadata writes) is fixed in the template, not accepted"
        );
    }
}

#[test]
fn images_and_redis_reach_the_apps_as_the_settings_the_code_reads() {
    let storage = read("bicep/modules/storage.bicep");
    let container = jojomart_shared::azure_settings::DEFAULT_BLOB_CONTAINER;
    let declared = storage
        .split("resource ")
        .find(|r| r.contains(&format!("name: '{container}'")))
        .unwrap_or_else(|| panic!("storage.bicep declares the `{container}` container"));
    assert!(
        declared.contains("publicAccess: 'Blob'"),
        "`{container}` is readable by blob URL, not listable: {declared}"
    );
    assert_eq!(
        storage.matches("publicAccess: 'Blob'").count(),
        1,
        "only the image container is public"
    );
    let app = read("bicep/modules/functionapp.bicep");
    let config = read("shared/src/config.rs");
    let azure = read("shared/src/azure_settings.rs");
    for (setting, source, code) in [
        ("JOJOMART_BLOB", &config, "config.rs"),
        ("JOJOMART_MEDIA_BASE_URL", &config, "config.rs"),
        ("JOJOMART_CACHE", &config, "config.rs"),
        ("JOJOMART_BLOB_CONTAINER", &azure, "azure_settings.rs"),
        (
            "AzureWebJobsStorage__blobServiceUri",
            &azure,
            "azure_settings.rs",
        ),
    ] {
        assert!(
            app.contains(&format!("name: '{setting}'")),
            "functionapp.bicep sets {setting}"
        );
        assert!(
            source.contains(&format!("\"{setting}\"")),
            "{code} reads {setting}"
        );
    }
    assert!(app.contains("{ name: 'JOJOMART_BLOB', value: 'azure' }"));
    let main = read("bicep/main.bicep");
    assert!(
        main.contains("JOJOMART_REDIS_URL: 'redis-url'"),
        "JOJOMART_REDIS_URL is a Key Vault reference built from secretNames"
    );
    assert!(main.contains("mediaBaseUrl: mediaBaseUrl"));
    let redis = read("bicep/modules/redis.bicep");
    assert!(
        redis.contains("name: 'redis-url'"),
        "redis.bicep writes the secret"
    );
    assert!(
        redis.contains("rediss://:${uriComponent(cache.listKeys().primaryKey)}@"),
        "the access key (base64) is percent-encoded in the URL"
    );
}
