//! The typed query language every adapter translates: filters, one sort field, paging.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Container, StoreError};

/// A validated path into a document (`price`, `rating.average`): identifiers joined by dots.
///
/// Field names are checked once here, so adapters may quote them into query text
/// while every value still travels as a bound parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Field(String);

impl Field {
    /// Parses a dotted path of `[A-Za-z_][A-Za-z0-9_]*` segments.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for anything else.
    pub fn parse(path: &str) -> Result<Self, StoreError> {
        let ok = !path.is_empty()
            && path.split('.').all(|seg| {
                let mut chars = seg.chars();
                matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if ok {
            Ok(Self(path.to_owned()))
        } else {
            Err(StoreError::Invalid(format!("bad field path `{path}`")))
        }
    }

    /// The path's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// The dotted path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads this field out of a JSON document.
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.segments().try_fold(doc, |v, seg| v.get(seg))
    }
}

impl TryFrom<String> for Field {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        Field::parse(&s)
    }
}

impl From<Field> for String {
    fn from(f: Field) -> String {
        f.0
    }
}

/// A condition on documents; `And` combines them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Filter {
    /// Field equals value.
    Eq(Field, Value),
    /// Field differs from value (documents missing the field do not match).
    Ne(Field, Value),
    /// Field less than value.
    Lt(Field, Value),
    /// Field less than or equal to value.
    Le(Field, Value),
    /// Field greater than value.
    Gt(Field, Value),
    /// Field greater than or equal to value.
    Ge(Field, Value),
    /// Field equals one of the values.
    In(Field, Vec<Value>),
    /// String field contains the text, ignoring ASCII case.
    Contains(Field, String),
    /// All of the conditions hold.
    And(Vec<Filter>),
}

impl Filter {
    /// `field == value`, for a field path known at compile time.
    ///
    /// # Panics
    /// When `field` is not a valid path: a programming error, not input.
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self::Eq(Self::field(field), value.into())
    }

    /// Parses a constant field path.
    ///
    /// # Panics
    /// When `field` is not a valid path: a programming error, not input.
    pub fn field(field: &str) -> Field {
        Field::parse(field).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Evaluates the filter on a document in memory (used by tests and simple adapters).
    pub fn matches(&self, doc: &Value) -> bool {
        use std::cmp::Ordering::*;
        let cmp = |f: &Field, v: &Value| f.get(doc).and_then(|x| compare(x, v));
        let eq = |f: &Field, v: &Value| f.get(doc) == Some(v) || cmp(f, v) == Some(Equal);
        match self {
            Filter::Eq(f, v) => eq(f, v),
            Filter::Ne(f, v) => f
                .get(doc)
                .is_some_and(|x| x != v && compare(x, v) != Some(Equal)),
            Filter::Lt(f, v) => cmp(f, v) == Some(Less),
            Filter::Le(f, v) => matches!(cmp(f, v), Some(Less | Equal)),
            Filter::Gt(f, v) => cmp(f, v) == Some(Greater),
            Filter::Ge(f, v) => matches!(cmp(f, v), Some(Greater | Equal)),
            Filter::In(f, vs) => vs.iter().any(|v| eq(f, v)),
            Filter::Contains(f, s) => f
                .get(doc)
                .and_then(Value::as_str)
                .is_some_and(|x| x.to_ascii_lowercase().contains(&s.to_ascii_lowercase())),
            Filter::And(fs) => fs.iter().all(|f| f.matches(doc)),
        }
    }
}

/// Compares two JSON scalars of the same kind (numbers with numbers, strings with strings).
pub fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// The single field a query is ordered by (ties broken by partition key and id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SortBy {
    /// The field to order by; documents should all carry it.
    pub field: Field,
    /// The direction.
    pub order: Order,
}

/// A query over one container, optionally scoped to one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The container to read.
    pub container: Container,
    /// Restricts the query to one partition when set.
    pub partition: Option<String>,
    /// The condition documents must meet; `None` matches everything.
    pub filter: Option<Filter>,
    /// The order of results; `None` means by partition key and id.
    pub sort: Option<SortBy>,
    /// Page size, 1..=1000.
    pub limit: u32,
    /// A token from a previous page of the same query.
    pub continuation: Option<String>,
}

impl Query {
    /// A query over the whole container, first page of 100.
    pub fn new(container: &Container) -> Self {
        Self {
            container: *container,
            partition: None,
            filter: None,
            sort: None,
            limit: 100,
            continuation: None,
        }
    }

    /// Scopes the query to one partition.
    pub fn partition(mut self, pk: impl Into<String>) -> Self {
        self.partition = Some(pk.into());
        self
    }

    /// Sets the filter.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Orders by one field.
    pub fn sort(mut self, field: Field, order: Order) -> Self {
        self.sort = Some(SortBy { field, order });
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Continues from a previous page's token.
    pub fn continuation(mut self, token: Option<String>) -> Self {
        self.continuation = token;
        self
    }

    /// A stable fingerprint of everything but the paging state, so a token
    /// from one query is refused by another.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let shape =
            serde_json::json!([self.container.name, self.partition, self.filter, self.sort]);
        hex::encode(&Sha256::digest(shape.to_string().as_bytes())[..12])
    }
}
