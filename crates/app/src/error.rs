//! What an operation can end in besides its outcome: a refusal, which keeps its
//! kind all the way to the edge, or a failure of the machinery underneath.
//!
//! The web layer turns a [`Kind`] into an HTTP status in one place, for pages and
//! the API alike: 403 not allowed, 404 not found (or not yours), 409 a conflict
//! with the current state, 422 invalid input.

use kitroom_core::booking::BookingRefusal;
use kitroom_core::change::AlreadyDecided;
use kitroom_core::device::IllegalMove;
use kitroom_core::incident::IncidentRefusal;
use kitroom_core::kit::{KitRefusal, SetChangeRefusal};
use kitroom_core::loan::{CheckOutRefusal, ReturnRefusal};
use kitroom_core::policy::PolicyRefusal;
use kitroom_core::stocktake::StocktakeRefusal;
use kitroom_core::Invalid;
use kitroom_store::StoreError;
use serde_json::Value;

/// The kind of a refusal: what the person should do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// This person's role does not allow it.
    NotAllowed,
    /// The thing does not exist, or is not this person's to see.
    NotFound,
    /// It clashes with the current state (the device is already out, say).
    Conflict,
    /// What was sent is not valid, or a rule refused it as asked.
    Invalid,
}

/// Why an operation did not happen, in words for a teacher, with a stable code
/// for scripts.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub kind: Kind,
    /// Stable and machine-readable: `policy-not-signed`, `validation`, …
    pub code: &'static str,
    pub message: String,
    /// Each problem beside its field, when the refusal is about fields.
    pub fields: Option<Invalid>,
    /// More to say to a script, such as what is free instead of a booking.
    pub extra: Option<(&'static str, Value)>,
}

impl Refusal {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            code,
            message: message.into(),
            fields: None,
            extra: None,
        }
    }

    pub fn not_allowed() -> Refusal {
        Refusal::new(
            Kind::NotAllowed,
            "forbidden",
            "Your account does not allow this.",
        )
    }

    pub fn not_found(what: &str) -> Refusal {
        Refusal::new(
            Kind::NotFound,
            "not-found",
            format!("{what} was not found."),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(Kind::Conflict, code, message)
    }

    /// Problems with the fields sent, each beside its field.
    pub fn invalid(invalid: Invalid) -> Refusal {
        Refusal {
            kind: Kind::Invalid,
            code: "validation",
            message: invalid.to_string(),
            fields: Some(invalid),
            extra: None,
        }
    }

    /// A rule refused it as asked.
    pub fn rule(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(Kind::Invalid, code, message)
    }

    /// The message for one field, if the refusal names it.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.fields.as_ref().and_then(|f| f.for_field(field))
    }
}

/// What an operation ends in when it has no outcome.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused: nothing was changed, and the person is told why.
    #[error(transparent)]
    Refused(Box<Refusal>),
    /// Something underneath failed: nothing was changed either.
    #[error(transparent)]
    Failed(StoreError),
    /// Something outside the store failed (hashing a password): nothing was changed.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Refused(r) => Some(r),
            Error::Failed(_) | Error::Internal(_) => None,
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Refused(Box::new(r))
    }
}

impl From<Invalid> for Error {
    fn from(i: Invalid) -> Self {
        Refusal::invalid(i).into()
    }
}

impl From<CheckOutRefusal> for Refusal {
    fn from(r: CheckOutRefusal) -> Self {
        let kind = match r {
            CheckOutRefusal::NotAvailable(_) => Kind::Conflict,
            _ => Kind::Invalid,
        };
        Refusal::new(kind, r.code(), r.to_string())
    }
}

impl From<CheckOutRefusal> for Error {
    fn from(r: CheckOutRefusal) -> Self {
        Refusal::from(r).into()
    }
}

impl From<ReturnRefusal> for Refusal {
    fn from(r: ReturnRefusal) -> Self {
        let kind = match r {
            ReturnRefusal::NotOnLoan => Kind::Conflict,
            _ => Kind::Invalid,
        };
        Refusal::new(kind, r.code(), r.to_string())
    }
}

impl From<ReturnRefusal> for Error {
    fn from(r: ReturnRefusal) -> Self {
        Refusal::from(r).into()
    }
}

impl From<IncidentRefusal> for Error {
    /// Beside its field; 409 when the incident's state does not allow it any more,
    /// 422 when it was asked wrongly.
    fn from(r: IncidentRefusal) -> Self {
        let kind = match r {
            IncidentRefusal::AlreadyResolved
            | IncidentRefusal::AlreadyDecided
            | IncidentRefusal::NoBreachRisk => Kind::Conflict,
            _ => Kind::Invalid,
        };
        Refusal {
            kind,
            code: r.code(),
            message: r.to_string(),
            fields: Some(Invalid::one(r.field(), r.to_string())),
            extra: None,
        }
        .into()
    }
}

impl From<AlreadyDecided> for Error {
    /// A request decided before is not decided again: 409.
    fn from(r: AlreadyDecided) -> Self {
        Refusal::conflict("already-decided", r.to_string()).into()
    }
}

impl From<StocktakeRefusal> for Refusal {
    /// A tag that names no device (or none typed) is invalid input, beside the
    /// `tag` field; the rest are conflicts with the stocktake's state.
    fn from(r: StocktakeRefusal) -> Self {
        if r.is_about_input() {
            Refusal {
                kind: Kind::Invalid,
                code: r.code(),
                message: r.to_string(),
                fields: Some(Invalid::one("tag", r.to_string())),
                extra: None,
            }
        } else {
            Refusal::conflict(r.code(), r.to_string())
        }
    }
}

impl From<StocktakeRefusal> for Error {
    fn from(r: StocktakeRefusal) -> Self {
        Refusal::from(r).into()
    }
}

impl From<PolicyRefusal> for Refusal {
    /// Each is a conflict with what is published or signed now, shown beside the
    /// field it is about.
    fn from(r: PolicyRefusal) -> Self {
        Refusal {
            kind: Kind::Conflict,
            code: r.code(),
            message: r.to_string(),
            fields: Some(Invalid::one(r.field(), r.to_string())),
            extra: None,
        }
    }
}

impl From<PolicyRefusal> for Error {
    fn from(r: PolicyRefusal) -> Self {
        Refusal::from(r).into()
    }
}

impl From<IllegalMove> for Error {
    fn from(m: IllegalMove) -> Self {
        Refusal::conflict("illegal-status-change", m.to_string()).into()
    }
}

impl From<KitRefusal> for Error {
    fn from(r: KitRefusal) -> Self {
        let kind = if r.is_conflict() {
            Kind::Conflict
        } else {
            Kind::Invalid
        };
        Refusal::new(kind, r.code(), r.to_string()).into()
    }
}

impl From<SetChangeRefusal> for Refusal {
    /// Beside its field (`name` or `tag`): 404 for a device not in the set, 409 for
    /// one out with it just now, 422 otherwise.
    fn from(r: SetChangeRefusal) -> Self {
        let kind = if r.is_not_found() {
            Kind::NotFound
        } else if r.is_conflict() {
            Kind::Conflict
        } else {
            Kind::Invalid
        };
        Refusal {
            kind,
            code: r.code(),
            message: r.to_string(),
            fields: Some(Invalid::one(r.field(), r.to_string())),
            extra: None,
        }
    }
}

impl From<SetChangeRefusal> for Error {
    fn from(r: SetChangeRefusal) -> Self {
        Refusal::from(r).into()
    }
}

/// A booking's refusal, with what is free instead (the API's `alternatives`).
pub fn booking_refusal(
    refusal: &BookingRefusal,
    devices: &[String],
    sets: &[(uuid::Uuid, String)],
) -> Refusal {
    let kind = if refusal.is_conflict() {
        Kind::Conflict
    } else {
        Kind::Invalid
    };
    let mut r = Refusal::new(kind, refusal.code(), refusal.to_string());
    r.extra = Some((
        "alternatives",
        serde_json::json!({
            "devices": devices,
            "sets": sets.iter().map(|(id, name)| serde_json::json!({"id": id, "name": name})).collect::<Vec<_>>(),
        }),
    ));
    r
}

impl From<BookingRefusal> for Error {
    fn from(r: BookingRefusal) -> Self {
        booking_refusal(&r, &[], &[]).into()
    }
}

impl From<StoreError> for Error {
    /// What the store still answers that is the person's to fix (not found, a
    /// value already taken, a status move the device's state does not allow) keeps
    /// its kind; everything else is a failure.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Refusal::not_found("That").into(),
            StoreError::Invalid(i) => Refusal {
                kind: Kind::Conflict,
                code: "conflict",
                message: i.to_string(),
                fields: Some(i),
                extra: None,
            }
            .into(),
            other => Error::Failed(other),
        }
    }
}

impl kitroom_store::WriteError for Error {
    fn is_storage_full(&self) -> bool {
        matches!(self, Error::Failed(e) if e.is_storage_full())
    }
}
