//! An in-process SMTP server on 127.0.0.1:0, enough of RFC 5321 for lettre
//! without TLS (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), recording
//! every message it accepts. It can be switched "down" (every connection is
//! answered `421` and closed) and told to refuse chosen recipients with
//! `550`. Received messages are parsed with `mail-parser`, so tests see the
//! decoded text and HTML parts.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use super::eventually;

/// A message as received, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The decoded subject.
    pub subject: String,
    /// The decoded text part.
    pub text: String,
    /// The decoded HTML part.
    pub html: String,
    /// The `Message-ID` header.
    pub message_id: String,
}

#[derive(Debug, Default)]
struct State {
    down: bool,
    refuse: HashSet<String>,
    received: Vec<Mail>,
    turned_away: u32,
    refused_recipients: u32,
}

/// The server; dropped, it stops listening.
pub struct SmtpServer {
    port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    /// Starts listening on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let port = listener.local_addr().expect("SMTP address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = session(socket, state).await;
                });
            }
        });
        Self { port, state, task }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("SMTP state"))
    }

    /// Down: every new connection is answered `421` and closed.
    pub fn set_down(&self, down: bool) {
        self.with(|s| s.down = down);
    }

    /// Answers `550` to `RCPT TO` this address from now on.
    pub fn refuse(&self, address: &str) {
        self.with(|s| s.refuse.insert(address.to_ascii_lowercase()));
    }

    /// Connections turned away with `421` while down.
    pub fn turned_away(&self) -> u32 {
        self.with(|s| s.turned_away)
    }

    /// `RCPT TO` commands answered `550`.
    pub fn refused_recipients(&self) -> u32 {
        self.with(|s| s.refused_recipients)
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Mail> {
        self.with(|s| s.received.clone())
    }

    /// The accepted messages whose subject contains `needle`.
    pub fn with_subject(&self, needle: &str) -> Vec<Mail> {
        self.received()
            .into_iter()
            .filter(|m| m.subject.contains(needle))
            .collect()
    }

    /// Waits until a message whose subject contains `needle` arrived; returns it.
    pub async fn wait_for(&self, needle: &str) -> Mail {
        eventually(
            Duration::from_secs(20),
            &format!("a mail about `{needle}`"),
            || async { self.with_subject(needle).into_iter().next() },
        )
        .await
    }

    /// Waits until a message whose subject contains `subject` and whose text
    /// part contains `text` arrived; returns it.
    pub async fn wait_for_text(&self, subject: &str, text: &str) -> Mail {
        eventually(
            Duration::from_secs(20),
            &format!("a mail about `{subject}` saying `{text}`"),
            || async {
                self.with_subject(subject)
                    .into_iter()
                    .find(|m| m.text.contains(text))
            },
        )
        .await
    }
}

async fn reply(out: &mut (impl AsyncWriteExt + Unpin), line: &str) -> std::io::Result<()> {
    out.write_all(format!("{line}\r\n").as_bytes()).await?;
    out.flush().await
}

/// The address inside `<...>` of a `MAIL FROM:` / `RCPT TO:` argument.
fn address(arg: &str) -> String {
    let inner = match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => &arg[a + 1..b],
        _ => arg.split_whitespace().next().unwrap_or_default(),
    };
    inner.trim().to_ascii_lowercase()
}

async fn session(socket: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut out) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let down = {
        let mut s = state.lock().expect("SMTP state");
        if s.down {
            s.turned_away += 1;
        }
        s.down
    };
    if down {
        return reply(&mut out, "421 4.3.2 Service not available, try again later").await;
    }
    reply(&mut out, "220 localhost ESMTP jojomart-test").await?;
    let mut recipients: Vec<String> = Vec::new();
    let mut sender: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or_default();
        match verb {
            "EHLO" => {
                reply(&mut out, "250-localhost greets you").await?;
                reply(&mut out, "250 8BITMIME").await?;
            }
            "HELO" => reply(&mut out, "250 localhost").await?,
            "MAIL" => {
                sender = Some(address(&line[line.find(':').map_or(4, |i| i + 1)..]));
                recipients.clear();
                reply(&mut out, "250 2.1.0 OK").await?;
            }
            "RCPT" => {
                let to = address(&line[line.find(':').map_or(4, |i| i + 1)..]);
                let refused = {
                    let mut s = state.lock().expect("SMTP state");
                    let refused = s.refuse.contains(&to);
                    if refused {
                        s.refused_recipients += 1;
                    }
                    refused
                };
                if sender.is_none() {
                    reply(&mut out, "503 5.5.1 MAIL first").await?;
                } else if refused {
                    reply(&mut out, "550 5.1.1 No such mailbox here").await?;
                } else {
                    recipients.push(to);
                    reply(&mut out, "250 2.1.5 OK").await?;
                }
            }
            "DATA" => {
                if recipients.is_empty() {
                    reply(&mut out, "503 5.5.1 RCPT first").await?;
                    continue;
                }
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    let l = l
                        .strip_prefix('.')
                        .filter(|_| l.starts_with(".."))
                        .unwrap_or(&l);
                    data.push_str(l);
                    data.push_str("\r\n");
                }
                let mail = parse(std::mem::take(&mut recipients), data.as_bytes());
                state.lock().expect("SMTP state").received.push(mail);
                sender = None;
                reply(&mut out, "250 2.0.0 OK queued").await?;
            }
            "RSET" => {
                sender = None;
                recipients.clear();
                reply(&mut out, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut out, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut out, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut out, "502 5.5.2 Command not recognized").await?,
        }
    }
    Ok(())
}

fn parse(to: Vec<String>, raw: &[u8]) -> Mail {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a MIME message");
    Mail {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        html: message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        message_id: message.message_id().unwrap_or_default().to_owned(),
    }
}
