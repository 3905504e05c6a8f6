//! Sending the outbox: email to the managers, over SMTP, in the background.
//!
//! A report writes its emails into the `outbox` table in the same transaction as
//! the report itself. This task sends what is due and marks each sent. After a
//! failure (the mail server is down, say) it waits longer before each new try, and
//! after the last try of the schedule (about two days), or a refusal the server
//! calls permanent, it marks the email failed for the admins' desk. A reminder whose
//! moment passed before it could go is dropped instead of sent late. The rules are
//! `kitroom_core::mail`'s; nothing is lost across a restart: unsent mail is still in
//! the table.
//!
//! Each message is a proper MIME message: a `Message-ID` at the public address's
//! domain (or the sender's), `Date`, `MIME-Version`, plain text in UTF-8 with a
//! transfer encoding a mail program decodes, `Auto-Submitted: auto-generated` so
//! out-of-office replies stay away, and for an incident `In-Reply-To`/`References`
//! naming the incident's thread.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use kitroom_core::link::PublicUrl;
use kitroom_core::mail::{self, AfterFailure, BeforeSending, RetrySchedule};
use kitroom_store::outbox::OutgoingEmail;
use kitroom_store::Store;
use kitroom_web::MailConfig;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

/// A configured SMTP sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    schedule: RetrySchedule,
    /// The right-hand side of every Message-ID.
    domain: String,
}

impl Mailer {
    /// A sender for `config`; its Message-IDs are at `public_url`'s host, or without
    /// one at the sender address's domain.
    pub fn new(config: &MailConfig, public_url: Option<&PublicUrl>) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .context("KITROOM_SMTP_URL is not an SMTP address like smtp://mail.school.example:587?tls=required")?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from: Mailbox = config.from.parse().context(
            "KITROOM_MAIL_FROM is not an email address like Kitroom <kitroom@school.example>",
        )?;
        let domain = public_url
            .map(|u| u.host().to_owned())
            .unwrap_or_else(|| from.email.domain().to_owned());
        Ok(Mailer {
            transport,
            from,
            schedule: RetrySchedule {
                first_wait: config.retry_base,
                tries: config.tries.max(1),
                ..RetrySchedule::default()
            },
            domain,
        })
    }

    /// Sends everything due, then waits for a wake-up or the next retry.
    pub async fn run(self, store: Store, wake: Arc<Notify>) {
        loop {
            self.send_due(&store).await;
            tokio::select! {
                _ = wake.notified() => {},
                _ = tokio::time::sleep(self.schedule.first_wait.min(Duration::from_secs(10))) => {},
            }
        }
    }

    async fn send_due(&self, store: &Store) {
        let now = chrono::Utc::now();
        let due = match store.due_emails(now, 50).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the outbox");
                return;
            }
        };
        for email in due {
            let saved = match mail::before_sending(email.send_by, now) {
                BeforeSending::Drop => {
                    tracing::info!(
                        to = email.to_address,
                        subject = email.subject,
                        kind = email.kind.as_str(),
                        "email dropped unsent: its moment passed before it could go"
                    );
                    store.mark_email_dropped(email.id).await
                }
                BeforeSending::Send => self.try_to_send(store, email).await,
            };
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not update the outbox");
            }
        }
    }

    /// One try; records the outcome.
    async fn try_to_send(
        &self,
        store: &Store,
        email: OutgoingEmail,
    ) -> Result<(), kitroom_store::StoreError> {
        let result = match self.message(&email) {
            Ok(m) => self
                .transport
                .send(m)
                .await
                .map(|_| ())
                .map_err(|e| (e.to_string(), e.is_permanent())),
            // not an address: trying again cannot help
            Err(e) => Err((format!("{e:#}"), true)),
        };
        let (error, permanent) = match result {
            Ok(()) => {
                tracing::info!(to = email.to_address, subject = email.subject, "email sent");
                return store.mark_email_sent(email.id).await;
            }
            Err(e) => e,
        };
        let tries = u32::try_from(email.attempts + 1).unwrap_or(u32::MAX);
        match self.schedule.after_failure(tries, permanent) {
            AfterFailure::TryAgainIn(wait) => {
                tracing::warn!(
                    to = email.to_address,
                    tries,
                    retry_in_s = wait.as_secs(),
                    error,
                    "email not sent; will retry"
                );
                let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(6));
                store.mark_email_failed(email.id, error, wait).await
            }
            AfterFailure::GiveUp => {
                tracing::error!(
                    to = email.to_address,
                    subject = email.subject,
                    tries,
                    error,
                    "email not delivered; giving up (shown on the admins' desk)"
                );
                store.mark_email_given_up(email.id, error).await
            }
        }
    }

    /// The email as a MIME message (see the module's documentation).
    fn message(&self, email: &OutgoingEmail) -> anyhow::Result<Message> {
        let to = &email.to_address;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to
                .parse()
                .with_context(|| format!("{to:?} is not an email address"))?)
            .subject(&email.subject)
            .message_id(Some(format!("<{}@{}>", email.id, self.domain)))
            .date(SystemTime::from(email.created_at));
        if let Some(thread) = &email.thread {
            let root = format!("<{thread}@{}>", self.domain);
            builder = builder.in_reply_to(root.clone()).references(root);
        }
        let mut message = builder.singlepart(SinglePart::plain(email.body.clone()))?;
        // RFC 3834: sent by a program, so no out-of-office or other automatic reply;
        // the second is the form Microsoft Exchange reads
        let headers = message.headers_mut();
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".to_owned(),
        ));
        Ok(message)
    }
}
