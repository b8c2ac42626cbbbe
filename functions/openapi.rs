//! The OpenAPI 3.1 document, generated from the HTTP functions' `#[utoipa::path]`
//! annotations as the router is built: never written by hand. Error answers
//! are documented in one place ([`problem_errors`]), as the server sends them.

use jojomart_shared::error::{Problem, PROBLEM_JSON};
use utoipa::{
    openapi::{
        path::Paths,
        schema::Schema,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        Components, Content, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    },
    PartialSchema, ToSchema,
};

/// The document before any function is added: info, servers and security schemes.
pub fn base() -> OpenApi {
    let mut components = Components::new();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("jojomart")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("The jojomart e-commerce API (see CONTRACT.md)."))
                .build(),
        )
        .components(Some(components))
        .build()
}

/// Adds one function's paths and schemas.
pub fn merge(doc: &mut OpenApi, schemas: Vec<(String, RefOr<Schema>)>, paths: Paths) {
    for (path, item) in paths.paths {
        match doc.paths.paths.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                doc.paths.paths.insert(path, item);
            }
        }
    }
    doc.components
        .get_or_insert_with(Components::new)
        .schemas
        .extend(schemas);
}

/// Documents every error answer (4xx, 5xx, `default`) of every operation as
/// `application/problem+json` with the [`Problem`] schema, whatever the
/// handler's annotation said: [`jojomart_shared::error::ApiError`] is the only
/// way a handler fails, and it always answers problem+json. Examples an
/// annotation gave are kept.
pub fn problem_errors(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Components::new);
    let mut schemas = vec![(Problem::name().into_owned(), Problem::schema())];
    Problem::schemas(&mut schemas);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    let problem_ref = Ref::from_schema_name(Problem::name());
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for (code, response) in &mut operation.responses.responses {
                let is_error = code.starts_with('4') || code.starts_with('5') || code == "default";
                let RefOr::T(response) = response else {
                    continue;
                };
                if !is_error {
                    continue;
                }
                let mut content = Content::new(Some(problem_ref.clone()));
                if let Some(given) = response.content.values().next() {
                    content.example.clone_from(&given.example);
                    content.examples.clone_from(&given.examples);
                }
                response.content = [(PROBLEM_JSON.to_owned(), content)].into();
            }
        }
    }
}

/// Renders the document as JSON.
pub fn render(doc: &OpenApi) -> String {
    doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}

/// The whole document for `functions`, as `GET /api/openapi.json` serves it
/// (`jojomart openapi` prints it for API Management's import at deploy).
pub fn document(functions: &[crate::table::FunctionDef]) -> String {
    let mut doc = base();
    for function in functions {
        if let crate::table::Trigger::Http { routes, .. } = &function.trigger {
            let (schemas, paths, _) = routes();
            merge(&mut doc, schemas, paths);
        }
    }
    problem_errors(&mut doc);
    render(&doc)
}
