//! A small SMTP sink on loopback: it accepts every message and keeps it, so tests
//! can see what Kitroom emailed. It speaks just enough SMTP for a client to deliver.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts on a free port.
    pub async fn start() -> SmtpSink {
        SmtpSink::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on this address (to bring a stopped sink back on the same port).
    pub async fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, kept).await;
                });
            }
        });
        SmtpSink {
            addr,
            messages,
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

async fn serve(stream: TcpStream, kept: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
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
                message.push_str(&line);
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
