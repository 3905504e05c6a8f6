//! The words a list filter of the API takes, as its OpenAPI schema states them:
//! shared by every API module and the document, and importing neither.

/// A string schema for a query filter: one of `words`, or empty for any.
pub fn filter_words(words: impl IntoIterator<Item = &'static str>) -> utoipa::openapi::Object {
    let mut values: Vec<&str> = vec![""];
    values.extend(words);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values))
        .description(Some("Empty means any."))
        .build()
}
