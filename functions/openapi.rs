//! The OpenAPI 3.1 document, generated from the HTTP functions' `#[utoipa::path]`
//! annotations as the router is built: never written by hand.

use utoipa::openapi::{
    path::Paths,
    schema::Schema,
    security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Components, InfoBuilder, OpenApi, OpenApiBuilder, RefOr,
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

/// Renders the document as JSON.
pub fn render(doc: &OpenApi) -> String {
    doc.to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}
