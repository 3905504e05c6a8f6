//! The OpenAPI document of `/api/v1`, generated from the code at startup.
//!
//! Each API module builds its routes as a [`utoipa_axum::router::OpenApiRouter`]
//! with `.routes(routes!(handler, …))`, and each handler carries a
//! `#[utoipa::path]` saying its request, its parameters and the statuses it
//! answers. The router that serves the requests and the document that describes
//! them are split from that one value in [`router`], so a route cannot be served
//! without being described. The few routes served outside it are listed in
//! [`OUTSIDE_DOCUMENT`], and the HTTP test `openapi::` checks both.
//!
//! Every error is `application/problem+json` with the one [`Problem`] schema: a
//! handler lists its own error statuses with a description only, and
//! [`ProblemResponses`] gives each of them the problem content, and adds the
//! statuses every operation can answer (401, 405, 500, 503) and those every
//! operation with a body can answer (400, 413, 415, 422).

use std::sync::Arc;

use axum::http::{header, Method};
use axum::response::IntoResponse;
use axum::Router;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::ApiError;
use crate::AppState;

/// Routes under `/api/v1` that are served but deliberately not in the document,
/// as (method, path): the document itself.
pub const OUTSIDE_DOCUMENT: &[(&str, &str)] = &[("GET", "/openapi.json")];

/// The content type of every error the API answers.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kitroom API",
        version = "1",
        description = "The school's device register, for scripts and integrations. Authenticate with a personal API token (My account → API tokens, or `kitroom token create USERNAME`) sent as `Authorization: Bearer <token>`. A token has its owner's permissions. Errors are `application/problem+json` with a stable `type` (such as `urn:kitroom:problem:validation`) and a human `detail`."
    ),
    servers((url = "/api/v1")),
    security(("token" = [])),
    components(schemas(Problem, FieldProblem, LineProblem)),
    modifiers(&BearerToken)
)]
struct ApiDoc;

/// An error, as RFC 9457 problem details. Written by [`ApiError`]'s
/// `IntoResponse`; this type is its description.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// Stable and machine-readable: `urn:kitroom:problem:` and a kind such as
    /// `validation`, `not-found`, `forbidden`, `policy-not-signed`.
    #[schema(example = "urn:kitroom:problem:validation")]
    r#type: String,
    /// The HTTP status's reason phrase.
    title: String,
    status: u16,
    /// What was wrong, in words a teacher understands.
    detail: String,
    /// For `validation`: each field that was wrong and why.
    errors: Option<Vec<FieldProblem>>,
    /// For `booking-clash`: what is free for all of the time instead.
    alternatives: Option<utoipa::openapi::Object>,
    /// For `import-problems`: each problem in the file, by its line and column.
    problems: Option<Vec<LineProblem>>,
}

/// One problem in an imported file.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LineProblem {
    /// The file's own line number; the heading line is 1.
    line: u64,
    /// The column's heading; empty when the problem is about the whole line or file.
    column: String,
    message: String,
}

/// One field of a request that was wrong.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldProblem {
    field: String,
    message: String,
}

pub use crate::api_words::filter_words;

/// The `token` security scheme: `Authorization: Bearer <token>`.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Statuses every operation can answer, with what they mean.
const EVERY_OPERATION: &[(&str, &str)] = &[
    ("401", "No API token, or one that is unknown, revoked or expired."),
    ("405", "This path does not take that method; the Allow header lists those it takes."),
    ("500", "Something went wrong on Kitroom's side; nothing was changed. The detail has a reference for the log."),
    ("503", "Kitroom's storage is full (nothing was saved), or the request took too long."),
];

/// Statuses every operation with a JSON body can answer.
const EVERY_JSON_BODY: &[(&str, &str)] = &[
    ("400", "The body is not valid JSON."),
    ("413", "The body is larger than Kitroom accepts."),
    ("415", "The body was not sent as `Content-Type: application/json`."),
    ("422", "The body is JSON of the wrong shape (an unknown field, a missing one, a value of the wrong type), or a value was refused; `errors` names the fields."),
];

/// Statuses every operation with a body of another kind (a CSV file) can answer;
/// the operation says more in its own responses.
const EVERY_OTHER_BODY: &[(&str, &str)] = &[
    ("400", "The body could not be read."),
    ("413", "The body is larger than Kitroom accepts."),
    (
        "415",
        "The body was not sent with the content type this operation takes.",
    ),
    (
        "422",
        "The body was read but refused; the problem says why.",
    ),
];

/// Statuses every operation with query parameters can answer.
const EVERY_QUERY: &[(&str, &str)] = &[(
    "422",
    "A query parameter has a value that cannot be used; `errors` names it when it was refused by a rule.",
)];

/// Makes every error response `application/problem+json` with the [`Problem`]
/// schema, and adds the statuses every operation (or every operation with a body,
/// or with query parameters) can answer.
pub struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, doc: &mut Document) {
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                let mut add: Vec<(&str, &str)> = EVERY_OPERATION.to_vec();
                if let Some(body) = &op.request_body {
                    if body.content.contains_key("application/json") {
                        add.extend_from_slice(EVERY_JSON_BODY);
                    } else {
                        add.extend_from_slice(EVERY_OTHER_BODY);
                    }
                }
                let has_query =
                    op.parameters.iter().flatten().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    });
                if has_query {
                    add.extend_from_slice(EVERY_QUERY);
                }
                for (status, description) in add {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(ResponseBuilder::new().description(description).build())
                        });
                }
                for (status, response) in op.responses.responses.iter_mut() {
                    let is_error = status.starts_with('4') || status.starts_with('5');
                    if let (true, RefOr::T(response)) = (is_error, response) {
                        response.content.clear();
                        response.content.insert(
                            PROBLEM_JSON.to_owned(),
                            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                "Problem",
                            )))),
                        );
                    }
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The API's routes and its document, from the one [`OpenApiRouter`] that every
/// API module adds its handlers to.
///
/// [`OpenApiRouter`]: utoipa_axum::router::OpenApiRouter
fn parts() -> (Router<AppState>, Document) {
    let (router, mut doc) = utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::api::router())
        .merge(crate::api_bookings::router())
        .merge(crate::api_policies::router())
        .merge(crate::api_incidents::router())
        .merge(crate::api_devices::router())
        .merge(crate::api_reports::router())
        .merge(crate::api_stocktakes::router())
        .merge(crate::api_people::router())
        .merge(crate::api_accessories::router())
        .split_for_parts();
    // Run now that every handler has added its operation (the derive's modifiers
    // run on the document before any path is in it).
    ProblemResponses.modify(&mut doc);
    (router, doc)
}

/// The document as served at `/api/v1/openapi.json`.
pub fn document() -> Document {
    parts().1
}

/// Every (method, path) the API router serves, paths relative to `/api/v1`: the
/// document's operations and [`OUTSIDE_DOCUMENT`].
pub fn routes() -> Vec<(String, String)> {
    let doc = document();
    let mut out: Vec<(String, String)> = OUTSIDE_DOCUMENT
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    for (path, mut item) in doc.paths.paths {
        for (method, op) in [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ] {
            if op.is_some() {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// The router for `/api/v1`: every documented handler, the document itself, and
/// problem+json answers for an unknown path (404) and a method a path does not
/// take (405).
pub fn router() -> Router<AppState> {
    let (router, doc) = parts();
    let json: Arc<str> = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        .into();
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                }
            }),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(|| async { ApiError::not_found("That API endpoint") })
}

async fn method_not_allowed(method: Method) -> impl IntoResponse {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "This API path does not take {method}; the Allow header lists the methods it takes."
        ),
    )
}
