//! Values as a form posts them and as a JSON body sends them, read by one type so
//! that a command is parsed from either by the same `TryFrom`.
//!
//! A form sends everything as text ("on" for a ticked box, "80%" for a battery);
//! JSON sends `true` and `80`. Each type here takes both and keeps what was sent,
//! so the command's `TryFrom` decides, once, what it means.

use serde::{Deserialize, Deserializer, Serialize};

/// Text that may be sent as JSON `null`: read as empty.
pub fn text_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A yes or no: JSON `true`/`false`, or a form's ticked box ("on", "true", "yes",
/// "1"); anything else, or nothing, is no.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        Ok(Flag(match Option::<Raw>::deserialize(d)? {
            Some(Raw::Bool(b)) => b,
            Some(Raw::Text(t)) => matches!(
                t.trim().to_ascii_lowercase().as_str(),
                "on" | "true" | "yes" | "1"
            ),
            None => false,
        }))
    }
}

/// An answer that may be missing: JSON `true`/`false`/`null`, or a form's "yes",
/// "no" or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Answer(pub Option<bool>);

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        Ok(Answer(match Option::<Raw>::deserialize(d)? {
            Some(Raw::Bool(b)) => Some(b),
            Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" => Some(true),
                "no" | "false" => Some(false),
                _ => None,
            },
            None => None,
        }))
    }
}

/// A whole number as sent: JSON `80`, or a form's "80" or "80%". Kept as text
/// until the command reads it, so that "eighty" gets a message, not a 400.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Number(pub String);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Float(f64),
            Text(String),
        }
        Ok(Number(match Option::<Raw>::deserialize(d)? {
            Some(Raw::Int(n)) => n.to_string(),
            Some(Raw::Float(f)) => f.to_string(),
            Some(Raw::Text(t)) => t,
            None => String::new(),
        }))
    }
}

impl Number {
    /// Nothing sent (or only spaces).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The number, without a trailing "%"; `None` when blank, the message (naming
    /// `label`) when it is not a whole number.
    pub fn whole(&self, label: &str) -> Result<Option<i64>, String> {
        let t = self.0.trim().trim_end_matches('%').trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("{label} must be a whole number."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Both {
        #[serde(default)]
        flag: Flag,
        #[serde(default)]
        answer: Answer,
        #[serde(default)]
        n: Number,
    }

    /// A ticked box, an answer and a number mean the same from a form as from JSON.
    #[test]
    fn a_form_and_a_json_body_read_alike() {
        let json: Both =
            serde_json::from_str(r#"{"flag": true, "answer": false, "n": 80}"#).unwrap();
        let form: Both =
            serde_json::from_str(r#"{"flag": "on", "answer": "no", "n": "80%"}"#).unwrap();
        assert_eq!(json.flag, form.flag);
        assert_eq!(json.answer, form.answer);
        assert_eq!(json.n.whole("Battery"), form.n.whole("Battery"));
        assert_eq!(form.n.whole("Battery"), Ok(Some(80)));
        let none: Both = serde_json::from_str(r#"{"answer": null}"#).unwrap();
        assert_eq!(none.answer, Answer(None));
        assert!(!none.flag.0);
        assert_eq!(
            Number("eighty".into()).whole("The battery level"),
            Err("The battery level must be a whole number.".into())
        );
    }
}
