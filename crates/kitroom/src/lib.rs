//! The `kitroom` binary's commands: the server and its own admin tool.
//!
//! `main.rs` only parses the command line and sets up logging; everything a command
//! does is here, so the black-box tests in `tests/` run exactly the same code.
//!
//! # Layout
//! - [`cli`]: the command line (clap) and what each command does.
//! - [`server`]: starting the web app on a listener, the setup link, graceful shutdown.
//! - [`demo`]: a believable demo school.
//! - [`mailer`]: sending the email outbox over SMTP, with retries.
//! - [`witness`]: keeping the log witness beside the database, and the admins' digest.

pub mod cli;
pub mod demo;
pub mod import;
pub mod mailer;
pub mod server;
pub mod witness;

/// Today's date at the school (Europe/London).
pub fn today() -> chrono::NaiveDate {
    kitroom_web::time::today()
}
