//! `sharelog serve`: build in memory, serve on loopback, rebuild when the root changes, and reload
//! open pages. A failed build shows its problems in the page instead of a stale site.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
        .map_err(|e| crate::describe(&e))
}

fn rebuild(state: &Mutex<State>, root: &Path) {
    let result = build(root);
    match &result {
        Ok(site) => eprintln!("rebuilt: {} files", site.files.len()),
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

/// Answers one request: (status, content type, body).
fn respond(state: &Mutex<State>, url: &str) -> (u16, &'static str, Vec<u8>) {
    let Ok(s) = state.lock() else {
        return (500, "text/plain; charset=utf-8", b"internal error".to_vec());
    };
    if url.split('?').next() == Some(VERSION_PATH) {
        return (
            200,
            "text/plain; charset=utf-8",
            s.version.to_string().into_bytes(),
        );
    }
    let path = site_path(url);
    match &s.build {
        Err(problems) => (500, "text/html; charset=utf-8", error_page(problems)),
        Ok(site) => {
            let found = site
                .files
                .get(&path)
                .map(|b| (path.clone(), b))
                .or_else(|| {
                    let index = format!("{path}/index.html");
                    site.files.get(&index).map(|b| (index, b))
                });
            match found {
                Some((p, bytes)) if p.ends_with(".html") => {
                    (200, content_type(&p), with_reload(bytes))
                }
                Some((p, bytes)) => (200, content_type(&p), bytes.clone()),
                None => (
                    404,
                    "text/html; charset=utf-8",
                    with_reload(b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head><body><p>No such page. <a href=\"/\">Overview</a></p></body></html>\n"),
                ),
            }
        }
    }
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
    let state = Arc::new(Mutex::new(State {
        version: 0,
        build: Err(String::new()),
    }));
    rebuild(&state, &root);

    let server = tiny_http::Server::http((options.bind, options.port)).map_err(|e| {
        Error::Internal(format!(
            "cannot listen on {}:{}: {e}",
            options.bind, options.port
        ))
    })?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| Error::Internal("the server has no IP address".into()))?;

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

    on_ready(addr);
    for request in server.incoming_requests() {
        let (status, kind, body) = respond(&state, request.url());
        let mut response = tiny_http::Response::from_data(body).with_status_code(status);
        for (name, value) in [("Content-Type", kind), ("Cache-Control", "no-store")] {
            if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(h);
            }
        }
        let _ = request.respond(response);
    }
    drop(watcher);
    Ok(())
}
