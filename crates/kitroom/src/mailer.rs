//! Sending the outbox: email to the managers, over SMTP, in the background.
//!
//! A report writes its emails into the `outbox` table in the same transaction as
//! the report itself. This task sends what is due, marks each sent, and after a
//! failure (the mail server is down, say) waits longer before each new try: the
//! first wait is the configured base, then it doubles, up to an hour. Nothing is
//! lost across a restart: unsent mail is still in the table.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kitroom_store::Store;
use kitroom_web::MailConfig;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

/// How long to wait after `attempts` failures.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let factor = 1u32 << attempts.clamp(0, 12) as u32;
    base.saturating_mul(factor).min(Duration::from_secs(3600))
}

/// A configured SMTP sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    retry_base: Duration,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
            .context("KITROOM_SMTP_URL is not an SMTP address like smtp://mail.school.example:587?tls=required")?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = config.from.parse().context(
            "KITROOM_MAIL_FROM is not an email address like Kitroom <kitroom@school.example>",
        )?;
        Ok(Mailer {
            transport,
            from,
            retry_base: config.retry_base,
        })
    }

    /// Sends everything due, then waits for a wake-up or the next retry.
    pub async fn run(self, store: Store, wake: Arc<Notify>) {
        loop {
            self.send_due(&store).await;
            tokio::select! {
                _ = wake.notified() => {},
                _ = tokio::time::sleep(self.retry_base.min(Duration::from_secs(10))) => {},
            }
        }
    }

    async fn send_due(&self, store: &Store) {
        let due = match store.due_emails(chrono::Utc::now(), 50).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the outbox");
                return;
            }
        };
        for email in due {
            let result = match self.message(&email.to_address, &email.subject, &email.body) {
                Ok(m) => self
                    .transport
                    .send(m)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let saved = match result {
                Ok(()) => {
                    tracing::info!(to = email.to_address, subject = email.subject, "email sent");
                    store.mark_email_sent(email.id).await
                }
                Err(error) => {
                    let wait = backoff(self.retry_base, email.attempts);
                    tracing::warn!(
                        to = email.to_address,
                        attempts = email.attempts + 1,
                        retry_in_s = wait.as_secs(),
                        error,
                        "email not sent; will retry"
                    );
                    let wait =
                        chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    store.mark_email_failed(email.id, error, wait).await
                }
            };
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not update the outbox");
            }
        }
    }

    fn message(&self, to: &str, subject: &str, body: &str) -> anyhow::Result<Message> {
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to
                .parse()
                .with_context(|| format!("{to:?} is not an email address"))?)
            .subject(subject)
            .body(body.to_owned())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 0), Duration::from_secs(30));
        assert_eq!(backoff(base, 1), Duration::from_secs(60));
        assert_eq!(backoff(base, 3), Duration::from_secs(240));
        assert_eq!(backoff(base, 40), Duration::from_secs(3600));
    }
}
