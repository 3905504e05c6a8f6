//! A small SMTP sink on loopback: it accepts every message and keeps it, so tests
//! can see what Kitroom emailed. It speaks just enough SMTP for a client to deliver.
//! A refusing sink answers every message "try again later", as a mail server that
//! is full or greylisting does, and counts the tries. [`Mail`] reads a kept message
//! with a standard MIME parser, as a mail program would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

/// The reply a refusing sink gives every sender: a temporary failure.
pub const REFUSAL: &str = "451 4.3.0 Mailbox busy, try again later";

impl SmtpSink {
    /// Starts on a free port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on this address (to bring a stopped sink back on the same port).
    pub async fn start_on(addr: SocketAddr) -> SmtpSink {
        SmtpSink::start_with(addr, false).await
    }

    /// Starts a sink that refuses every message with [`REFUSAL`].
    pub async fn start_refusing() -> SmtpSink {
        SmtpSink::start_with("127.0.0.1:0".parse().unwrap(), true).await
    }

    async fn start_with(addr: SocketAddr, refuse: bool) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(0));
        let kept = messages.clone();
        let counted = refused.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                let counted = counted.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, kept, refuse.then_some(counted)).await;
                });
            }
        });
        SmtpSink {
            addr,
            messages,
            refused,
            task,
        }
    }

    /// `smtp://` address for Kitroom's configuration.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Stops listening; the port refuses connections until started again.
    pub fn stop(self) -> SocketAddr {
        self.task.abort();
        self.addr
    }

    /// How many messages a refusing sink has turned away.
    pub fn refused(&self) -> usize {
        *self.refused.lock().unwrap()
    }

    /// The kept messages, read by a MIME parser.
    pub fn mail(&self) -> Vec<Mail> {
        self.messages().iter().map(|m| Mail::parse(m)).collect()
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits up to `within` for at least `n` messages.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = self.messages();
            if m.len() >= n || tokio::time::Instant::now() >= deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve(
    stream: TcpStream,
    kept: Arc<Mutex<Vec<String>>>,
    refused: Option<Arc<Mutex<usize>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
        } else if command.starts_with("MAIL FROM") && refused.is_some() {
            *refused.as_ref().unwrap().lock().unwrap() += 1;
            write.write_all(format!("{REFUSAL}\r\n").as_bytes()).await?;
        } else if command == "DATA" {
            write.write_all(b"354 send it\r\n").await?;
            let mut message = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // undo the sender's dot-stuffing (RFC 5321 4.5.2)
                message.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            kept.lock().unwrap().push(message);
            write.write_all(b"250 kept\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 ok\r\n").await?;
        }
    }
}

/// One email as a mail program reads it: the headers Kitroom promises, and the
/// text decoded from its transfer encoding and charset.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    pub to: String,
    pub subject: String,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub has_date: bool,
    pub mime_version: Option<String>,
    /// `type/subtype` of the message as a whole.
    pub content_type: Option<String>,
    pub charset: Option<String>,
    pub auto_submitted: Option<String>,
    /// The plain-text body, decoded.
    pub text: String,
}

impl Mail {
    pub fn parse(raw: &str) -> Mail {
        use mail_parser::{HeaderName, HeaderValue, MessageParser};
        let m = MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap_or_else(|| panic!("a mail parser cannot read this message:\n{raw}"));
        fn ids(v: &HeaderValue<'_>) -> Vec<String> {
            match v {
                HeaderValue::Text(t) => vec![t.to_string()],
                HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
                _ => Vec::new(),
            }
        }
        let ctype = m
            .header(HeaderName::ContentType)
            .and_then(|h| h.as_content_type());
        Mail {
            raw: raw.to_owned(),
            to: m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            subject: m.subject().unwrap_or_default().to_owned(),
            message_id: m.message_id().map(str::to_owned),
            in_reply_to: ids(m.in_reply_to()),
            references: ids(m.references()),
            has_date: m.date().is_some(),
            mime_version: m.header_raw("MIME-Version").map(|v| v.trim().to_owned()),
            content_type: ctype.map(|c| {
                format!("{}/{}", c.ctype(), c.subtype().unwrap_or_default()).to_lowercase()
            }),
            charset: ctype
                .and_then(|c| c.attribute("charset"))
                .map(|c| c.to_lowercase()),
            auto_submitted: m.header_raw("Auto-Submitted").map(|v| v.trim().to_owned()),
            text: m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        }
    }
}
