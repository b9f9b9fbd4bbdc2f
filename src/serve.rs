//! `sharelog serve`: build in memory, serve on loopback, rebuild when the root changes, and reload
//! open pages. A failed build shows its problems in the page instead of a stale site.
//!
//! The server is hyper's HTTP/1.1 on a small tokio runtime (two worker threads, whatever the
//! number of clients), with limits a preview needs when any page the browser opens can reach it:
//! at most [`MAX_CONNECTIONS`] connections at once (more wait in the kernel's queue), request
//! heads of at most [`MAX_HEAD_BYTES`] read within [`HEAD_TIMEOUT`], a connection closed after
//! [`CONNECTION_LIFETIME`], only `GET` and `HEAD`, and only loopback `Host` names unless `--bind`
//! opens the server to other machines (so a page on another site cannot read the preview
//! through DNS rebinding). A connection that pipelines requests and never reads its answers
//! holds only its own task.

use std::convert::Infallible;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use notify::{RecursiveMode, Watcher};

use crate::error::{Error, Result};
use crate::render::Site;

/// Checked options of `sharelog serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The report root.
    pub root: PathBuf,
    /// The interface to listen on (loopback unless the user says otherwise).
    pub bind: IpAddr,
    /// The port (0: any free port).
    pub port: u16,
}

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 512;
/// The largest request head (request line and headers) read; a larger one is answered 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a client may take to send a request head (and, between requests, to start one).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one connection may stay open, however busy.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

/// The path pages poll to learn that a rebuild happened.
const VERSION_PATH: &str = "/__sharelog/version";

/// Injected before `</body>` of every HTML page, in serve mode only: polls the version and reloads
/// the page when it changes.
const RELOAD_SCRIPT: &str = "<script>(function(){var v=null;function poll(){fetch('/__sharelog/version',{cache:'no-store'}).then(function(r){return r.text()}).then(function(t){if(v===null){v=t}else if(t!==v){location.reload()}}).catch(function(){}).finally(function(){setTimeout(poll,700)})}poll()})();</script>";

/// The latest build: the site, or why it failed.
struct State {
    version: u64,
    build: std::result::Result<Site, String>,
}

fn build(root: &Path) -> std::result::Result<Site, String> {
    crate::render_site(root)
        .map(|(site, _)| site)
        .map_err(|e| crate::describe_ending(&e, ""))
}

fn rebuild(state: &Mutex<State>, root: &Path) {
    let result = build(root);
    // The first build is a build; each later one a rebuild.
    let first = state.lock().map(|s| s.version == 0).unwrap_or(false);
    let what = if first { "built" } else { "rebuilt" };
    match &result {
        Ok(site) => eprintln!(
            "{what}: {}",
            crate::counted(site.files.len() as u64, "file", "files")
        ),
        Err(text) => eprintln!("build failed; the page shows why:\n{text}"),
    }
    if let Ok(mut s) = state.lock() {
        s.version += 1;
        s.build = result;
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "parquet" => "application/vnd.apache.parquet",
        _ => "text/plain; charset=utf-8",
    }
}

fn with_reload(html: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(html);
    match text.rfind("</body>") {
        Some(i) => format!("{}{RELOAD_SCRIPT}{}", &text[..i], &text[i..]).into_bytes(),
        None => format!("{text}{RELOAD_SCRIPT}").into_bytes(),
    }
}

fn error_page(problems: &str) -> Vec<u8> {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Build failed · sharelog</title></head><body><main><h1>The build failed</h1><p>Fix the problems below; this page reloads when the report root changes.</p><pre>{}</pre></main>{RELOAD_SCRIPT}</body></html>\n",
        tera::escape_html(problems)
    )
    .into_bytes()
}

/// The file a request path names: `/` and folders mean their `index.html`.
fn site_path(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    }
}

/// What a request gets.
#[derive(Debug, PartialEq)]
enum Answer {
    /// A page or file: (status, content type, body).
    Body(u16, &'static str, Vec<u8>),
    /// A folder asked for without its `/`: where it is, so that its relative links work.
    Redirect(String),
}

/// Answers one request for `path` (with its `query`, if any).
fn respond(state: &Mutex<State>, path: &str, query: Option<&str>) -> Answer {
    let Ok(s) = state.lock() else {
        return Answer::Body(500, "text/plain; charset=utf-8", b"internal error".to_vec());
    };
    if path == VERSION_PATH {
        return Answer::Body(
            200,
            "text/plain; charset=utf-8",
            s.version.to_string().into_bytes(),
        );
    }
    let file = site_path(path);
    match &s.build {
        Err(problems) => Answer::Body(500, "text/html; charset=utf-8", error_page(problems)),
        Ok(site) => match site.files.get(&file) {
            Some(bytes) if file.ends_with(".html") => {
                Answer::Body(200, content_type(&file), with_reload(bytes))
            }
            Some(bytes) => Answer::Body(200, content_type(&file), bytes.clone()),
            // The target is built from the site's own path, so that `//host` in the request
            // can never become a redirect to another host.
            None if site.files.contains_key(&format!("{file}/index.html")) => {
                Answer::Redirect(match query {
                    Some(q) => format!("/{file}/?{q}"),
                    None => format!("/{file}/"),
                })
            }
            None => Answer::Body(
                404,
                "text/html; charset=utf-8",
                with_reload(b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body><p>No such page. <a href=\"/\">Overview</a></p></body></html>\n"),
            ),
        },
    }
}

/// Which `Host` headers the server answers.
#[derive(Debug, Clone)]
enum Hosts {
    /// Loopback names only (`localhost`, `127.0.0.1`, `[::1]`, …): the default.
    Loopback,
    /// Loopback names and this address (`--bind` to one interface).
    LoopbackAnd(IpAddr),
    /// Any (`--bind 0.0.0.0` or `::`: the user opened the server to other machines).
    Any,
}

impl Hosts {
    fn for_bind(bind: IpAddr) -> Hosts {
        if bind.is_unspecified() {
            Hosts::Any
        } else if bind.is_loopback() {
            Hosts::Loopback
        } else {
            Hosts::LoopbackAnd(bind)
        }
    }

    /// Whether a request's `Host` header (with its port, if any) is one of these. A Host that is
    /// not a plain name or address with an optional numeric port is never allowed.
    fn allows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else {
            return matches!(self, Hosts::Any);
        };
        let Some(name) = host_name(host) else {
            return matches!(self, Hosts::Any);
        };
        let name = name.to_ascii_lowercase();
        let loopback = name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        match self {
            Hosts::Any => true,
            Hosts::Loopback => loopback,
            Hosts::LoopbackAnd(ip) => loopback || name.parse::<IpAddr>().is_ok_and(|n| n == *ip),
        }
    }
}

/// The name of a `Host` header without its port (`[::1]:8000` → `::1`, `a:80` → `a`), or `None`
/// when it is not a name or address with an optional numeric port (`a:1@b`, `a b`, empty).
fn host_name(host: &str) -> Option<&str> {
    let port_ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        let after_ok = after.is_empty() || after.strip_prefix(':').is_some_and(port_ok);
        return (after_ok && name.parse::<std::net::Ipv6Addr>().is_ok()).then_some(name);
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port_ok(port) => name,
        Some(_) => return None,
        None => host,
    };
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    plain.then_some(name)
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The HTTP side of [`respond`]: the method and Host checks, then the answer.
fn handle(
    state: &Mutex<State>,
    hosts: &Hosts,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    // An absolute-form request target names the host itself, and takes precedence (RFC 9112);
    // two Host headers are refused, not guessed between.
    let headers: Vec<&HeaderValue> = request.headers().get_all(header::HOST).iter().collect();
    let host = match (request.uri().authority(), headers.as_slice()) {
        (Some(authority), _) => Some(authority.as_str()),
        (None, [one]) => one.to_str().ok(),
        (None, []) => None,
        (None, _) => {
            return plain(StatusCode::BAD_REQUEST, "More than one Host header.\n");
        }
    };
    if !hosts.allows(host) {
        return plain(
            StatusCode::FORBIDDEN,
            "This preview answers only loopback host names (localhost, 127.0.0.1). Use --bind to serve other machines.\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "The preview answers only GET and HEAD.\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = match respond(state, request.uri().path(), request.uri().query()) {
        Answer::Body(status, kind, body) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            response
        }
        Answer::Redirect(to) => {
            let mut response = plain(StatusCode::MOVED_PERMANENTLY, "");
            match HeaderValue::from_str(&to) {
                Ok(location) => {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                Err(_) => *response.status_mut() = StatusCode::NOT_FOUND,
            }
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Builds, serves and rebuilds until the process is stopped. `on_ready` gets the address the
/// server listens on.
pub fn serve(options: &ServeOptions, on_ready: impl FnOnce(std::net::SocketAddr)) -> Result<()> {
    let root = options.root.clone();
    if !root.join("report.yaml").is_file() {
        return Err(Error::invalid(vec![
            crate::Problem::new(root.display().to_string(), "holds no report.yaml")
                .help("serve a report root; `sharelog new DIR` writes one"),
        ]));
    }
    // Listen first: a port in use is said before a build the server could not show.
    let (bind, port) = (options.bind, options.port);
    let listener = std::net::TcpListener::bind((bind, port))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| Error::Internal(format!("cannot listen on {bind}:{port}: {e}")))?;
    let state = Arc::new(Mutex::new(State {
        version: 0,
        build: Err(String::new()),
    }));
    rebuild(&state, &root);

    // Watch the root; rebuild once per burst of changes.
    let (tx, rx) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only changes to content count: the build's own reads (access events, access times)
        // must not trigger another build.
        use notify::EventKind::{Create, Modify, Remove};
        use notify::event::ModifyKind;
        if let Ok(event) = event
            && matches!(
                event.kind,
                Create(_)
                    | Remove(_)
                    | Modify(ModifyKind::Data(_) | ModifyKind::Name(_) | ModifyKind::Any)
            )
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| Error::Internal(format!("cannot watch {}: {e}", root.display())))?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .map_err(|e| Error::Internal(format!("cannot watch {}: {e}", root.display())))?;
    let watched_state = Arc::clone(&state);
    let watched_root = root.clone();
    std::thread::spawn(move || {
        while rx.recv().is_ok() {
            std::thread::sleep(Duration::from_millis(150));
            while rx.try_recv().is_ok() {}
            rebuild(&watched_state, &watched_root);
        }
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the server: {e}")))?;
    let hosts = Hosts::for_bind(options.bind);
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Error::Internal(format!("cannot listen on {bind}:{port}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Internal(format!("the server has no address: {e}")))?;
        on_ready(addr);
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        loop {
            // More clients than permits wait in the kernel's accept queue.
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return Ok(());
            };
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let state = Arc::clone(&state);
            let hosts = hosts.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let response = handle(&state, &hosts, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
                drop(permit);
            });
        }
    });
    drop(watcher);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert_eq!(host_name("[::1]:8000"), Some("::1"));
        assert_eq!(host_name("localhost:8000"), Some("localhost"));
        assert_eq!(host_name("127.0.0.1"), Some("127.0.0.1"));
        for bad in [
            "127.0.0.1:1@evil.example",
            "",
            "a b",
            "[::1]x",
            "[evil]",
            "a:",
            "a:8x",
        ] {
            assert_eq!(host_name(bad), None, "{bad:?}");
        }
        let loopback = Hosts::for_bind("127.0.0.1".parse().expect("ip"));
        for ok in [
            "127.0.0.1:8000",
            "localhost",
            "LOCALHOST:1",
            "[::1]:80",
            "127.9.9.9",
            "app.localhost:3",
        ] {
            assert!(loopback.allows(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8000",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
        ] {
            assert!(!loopback.allows(Some(bad)), "{bad}");
        }
        assert!(!loopback.allows(None));
        let one = Hosts::for_bind("192.168.1.5".parse().expect("ip"));
        assert!(one.allows(Some("192.168.1.5:8000")));
        assert!(!one.allows(Some("evil.example")));
        assert!(Hosts::for_bind("0.0.0.0".parse().expect("ip")).allows(Some("anything")));
    }
}
