//! Validation errors that name the field they belong to, so a form can show each one
//! beside its field and an API can return them in a list.

use std::fmt;

/// One problem with one field, worded for a teacher.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The form field or JSON key the problem is about.
    pub field: &'static str,
    pub message: String,
}

/// Every problem found in one submission. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut me = Self::new();
        me.add(field, message);
        me
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// Records the error of a field check, and gives back its value when it passed.
    pub fn check<T>(&mut self, field: &'static str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for one field, if it has one.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(())` when nothing was found, the errors otherwise.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.0.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&messages.join(" "))
    }
}

impl std::error::Error for Invalid {}

/// Trims a text field and refuses it when it is longer than `max` characters.
pub fn text(value: &str, label: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("{label} must be {max} characters or fewer."));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!(
            "{label} contains characters that cannot be stored."
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`], but refuses an empty value.
pub fn required_text(value: &str, label: &str, max: usize) -> Result<String, String> {
    let value = text(value, label, max)?;
    if value.is_empty() {
        return Err(format!("Enter {}.", article(label)));
    }
    Ok(value)
}

fn article(label: &str) -> String {
    let lower = label.to_lowercase();
    match lower.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {lower}"),
        _ => format!("a {lower}"),
    }
}
