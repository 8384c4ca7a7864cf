//! A fault-injecting HTTP proxy for the client tests: sits between the client and a real
//! server (`adroit_llm::serve`) and, request by request, forwards faithfully or injects
//! a fault from a queue: a status (429 with `Retry-After`, 500…), a hang, a dropped
//! connection, a malformed body, a rewritten answer, a stalled, truncated or malformed
//! stream. Plain std: one thread per connection, `Connection: close` on every answer.
//!
//! It also records what reached it (request count, headers, bodies), so tests can check
//! that nothing was sent (cache hits) or that no personal data left the client.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward to the server and return its answer unchanged.
    Pass,
    /// Answer this status without forwarding, with an OpenAI-style error body.
    Status {
        status: u16,
        retry_after: Option<String>,
        message: String,
    },
    /// Read the request, then say nothing for this long before closing.
    Hang(Duration),
    /// Read the request, then close the connection without a word.
    Drop,
    /// Forward, then replace the server's JSON body with this text.
    Body(String),
    /// Forward, then replace `choices[0].message.content` of the answer.
    Content(String),
    /// Forward a stream, but stop for `pause` after `after` events (then close).
    StreamStall { after: usize, pause: Duration },
    /// Forward a stream, but close the connection after `after` events (no `[DONE]`).
    StreamTruncate { after: usize },
    /// Forward a stream, replacing event number `at` (0-based) with broken JSON.
    StreamMalformed { at: usize },
}

/// One request as the proxy received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    upstream: SocketAddr,
    faults: Mutex<VecDeque<Fault>>,
    seen: Mutex<Vec<Seen>>,
    forwarded: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A running proxy; lives until the test process ends (its threads are detached).
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on a free local port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            forwarded: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let for_thread = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let shared = Arc::clone(&for_thread);
                std::thread::spawn(move || {
                    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    // A client that hung up early is not the proxy's problem.
                    let _ = handle(conn, &shared);
                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FaultProxy { addr, shared }
    }

    /// `http://ADDR/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues faults for the next requests, in order; once the queue is empty every
    /// request passes.
    pub fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.faults.lock().unwrap().extend(faults);
    }

    /// Requests that reached the proxy.
    pub fn requests(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// Requests the proxy passed on to the server.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// The most connections the proxy served at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

fn handle(conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut client_in = BufReader::new(conn.try_clone()?);
    let mut client_out = conn;
    let (request_line, headers) = read_head(&mut client_in)?;
    let length = content_length(&headers);
    let mut body = vec![0u8; length];
    client_in.read_exact(&mut body)?;
    let body_text = String::from_utf8_lossy(&body).into_owned();
    shared.seen.lock().unwrap().push(Seen {
        headers: headers.clone(),
        body: body_text.clone(),
    });
    let fault = shared
        .faults
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Fault::Pass);
    match fault {
        Fault::Status {
            status,
            retry_after,
            message,
        } => {
            let body =
                serde_json::json!({"error": {"message": message, "type": "injected"}}).to_string();
            let mut head = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if let Some(wait) = retry_after {
                head.push_str(&format!("Retry-After: {wait}\r\n"));
            }
            head.push_str("\r\n");
            client_out.write_all(head.as_bytes())?;
            client_out.write_all(body.as_bytes())?;
            return client_out.flush();
        }
        Fault::Hang(pause) => {
            std::thread::sleep(pause);
            return Ok(());
        }
        Fault::Drop => return Ok(()),
        _ => {}
    }

    // Forward to the real server.
    shared.forwarded.fetch_add(1, Ordering::SeqCst);
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let upstream = TcpStream::connect(shared.upstream)?;
    let mut up_out = upstream.try_clone()?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        shared.upstream,
        body.len()
    );
    for (k, v) in &headers {
        if ["content-type", "accept", "authorization"].contains(&k.to_ascii_lowercase().as_str()) {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("\r\n");
    up_out.write_all(head.as_bytes())?;
    up_out.write_all(&body)?;
    up_out.flush()?;

    let mut up_in = BufReader::new(upstream);
    let (status_line, up_headers) = read_head(&mut up_in)?;
    let chunked = up_headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    let streamed = up_headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("text/event-stream"));
    let mut decoded = Decoded {
        inner: up_in,
        chunked,
        left: if chunked {
            0
        } else {
            content_length_opt(&up_headers).unwrap_or(usize::MAX)
        },
        done: false,
    };
    let content_type = up_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "application/json".into());

    if streamed {
        // A stream with a fault is read whole before it is replayed, so that the fault
        // lands at the same place however slowly the server generates; a passing stream
        // is forwarded live.
        let mut pending = Vec::new();
        if !matches!(fault, Fault::Pass) {
            decoded.read_to_end(&mut pending)?;
        }
        let head =
            format!("{status_line}\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n");
        client_out.write_all(head.as_bytes())?;
        client_out.flush()?;
        let mut index = 0;
        let mut buf = [0u8; 4096];
        loop {
            let n = if matches!(fault, Fault::Pass) {
                decoded.read(&mut buf)?
            } else {
                0
            };
            if n == 0 && find(&pending, b"\n\n").is_none() {
                client_out.write_all(&pending)?;
                return client_out.flush();
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = find(&pending, b"\n\n") {
                let event: Vec<u8> = pending.drain(..end + 2).collect();
                match &fault {
                    Fault::StreamStall { after, pause } if index == *after => {
                        std::thread::sleep(*pause);
                        return Ok(());
                    }
                    Fault::StreamTruncate { after } if index == *after => return Ok(()),
                    Fault::StreamMalformed { at } if index == *at => {
                        client_out.write_all(b"data: {\"id\": \"x\", \"choices\": [tru\n\n")?;
                    }
                    _ => client_out.write_all(&event)?,
                }
                client_out.flush()?;
                index += 1;
            }
        }
    }

    let mut answer = Vec::new();
    decoded.read_to_end(&mut answer)?;
    let answer = match fault {
        Fault::Body(text) => text.into_bytes(),
        Fault::Content(text) => {
            let mut value: serde_json::Value =
                serde_json::from_slice(&answer).expect("the server answers JSON");
            value["choices"][0]["message"]["content"] = serde_json::Value::String(text);
            serde_json::to_vec(&value).unwrap()
        }
        _ => answer,
    };
    let head = format!(
        "{status_line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        answer.len()
    );
    client_out.write_all(head.as_bytes())?;
    client_out.write_all(&answer)?;
    client_out.flush()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first line and the headers of an HTTP message.
fn read_head(input: &mut impl BufRead) -> std::io::Result<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    input.read_line(&mut first)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Ok((first.trim_end().to_owned(), headers))
}

fn content_length_opt(headers: &[(String, String)]) -> Option<usize> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
}

fn content_length(headers: &[(String, String)]) -> usize {
    content_length_opt(headers).unwrap_or(0)
}

/// The body of an upstream answer, de-chunked as it arrives.
struct Decoded<R> {
    inner: R,
    chunked: bool,
    /// Bytes left in the current chunk (or the whole body).
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.chunked && self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line.trim().is_empty() {
                // The CRLF after the previous chunk.
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            let size =
                usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16).unwrap_or(0);
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            self.done = true;
            return Ok(0);
        }
        if self.left != usize::MAX {
            self.left -= n;
        }
        if !self.chunked && self.left == 0 {
            self.done = true;
        }
        Ok(n)
    }
}
