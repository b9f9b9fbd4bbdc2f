//! The authoring and CI workflow: `new`, `serve`, `diff`, completions and the man page.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{fixture, fixture_copy, sharelog};

#[test]
fn new_writes_a_root_that_builds_at_once_and_refuses_a_non_empty_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("report");
    let root_s = root.to_str().expect("utf-8");
    let created = sharelog(&["new", root_s]);
    assert_eq!(created.status.code(), Some(0), "{created:?}");
    let out = dir.path().join("public");
    let built = sharelog(&[
        "build",
        "--root",
        root_s,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(built.status.code(), Some(0), "{built:?}");
    for page in [
        "index.html",
        "partners/example-ai/index.html",
        "exports/first-export/index.html",
        "methodology/index.html",
        "findings/index.html",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
    let before = std::fs::read(root.join("report.yaml")).expect("read");
    let again = sharelog(&["new", root_s]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("the folder is not empty"));
    assert_eq!(
        std::fs::read(root.join("report.yaml")).expect("read"),
        before
    );
}

/// The findings fixture changed: a second batch to Beta, a count raised, minors' items gone.
fn changed_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = fixture_copy("findings");
    let x2 = root.join("data/exports/x2.yaml");
    let text = std::fs::read_to_string(&x2).expect("read");
    std::fs::write(&x2, text.replace("items: 100, minor: 4", "items: 120")).expect("write");
    std::fs::write(
        root.join("data/exports/x3.yaml"),
        "id: x3\npartner: beta\nexported_at: 2023-09-01\ncounts:\n  - {category: photo, year: 2023, items: 75}\n",
    )
    .expect("write");
    (dir, root)
}

fn diff(old: &Path, new: &Path, format: &str) -> (Option<i32>, String) {
    let out = sharelog(&[
        "diff",
        "--format",
        format,
        old.to_str().expect("utf-8"),
        new.to_str().expect("utf-8"),
    ]);
    // Markdown writes the paths escaped, like all text from outside.
    let escaped = |p: &Path| sharelog::diff::markdown_text(&p.to_string_lossy());
    let text = String::from_utf8_lossy(&out.stdout)
        .replace(&*old.to_string_lossy(), "OLD")
        .replace(&*new.to_string_lossy(), "NEW")
        .replace(&escaped(old), "OLD")
        .replace(&escaped(new), "NEW");
    (out.status.code(), text)
}

#[test]
fn diff_reports_batches_counts_and_findings_in_text_and_markdown() {
    let old = fixture("findings");
    let (_dir, new) = changed_copy();
    let (code, text) = diff(&old, &new, "text");
    assert_eq!(code, Some(1), "different");
    insta::assert_snapshot!("diff.txt", text);
    let (code, markdown) = diff(&old, &new, "markdown");
    assert_eq!(code, Some(1));
    insta::assert_snapshot!("diff.md", markdown);

    // Built sites compare the same way as report roots.
    let (_a, old_site) = crate::support::build(&old);
    let (_b, new_site) = crate::support::build(&new);
    let (code, from_sites) = diff(&old_site, &new_site, "text");
    assert_eq!(code, Some(1));
    assert_eq!(
        from_sites.lines().skip(1).collect::<Vec<_>>(),
        text.lines().skip(1).collect::<Vec<_>>()
    );

    let (code, same) = diff(&old, &old, "text");
    assert_eq!(code, Some(0), "{same}");
    assert!(same.contains("No differences"));

    let missing = sharelog(&["diff", old.to_str().expect("utf-8"), "/nonexistent/site"]);
    assert_eq!(missing.status.code(), Some(3));

    // A built site missing one of its main tables is an error, not "everything was added".
    std::fs::remove_file(new_site.join("data/findings.csv")).expect("remove");
    let (code, text) = diff(&old_site, &new_site, "text");
    assert_eq!(code, Some(3), "{text}");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let bash = sharelog(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(script.contains("_sharelog()"), "a bash function");
    assert!(script.contains("--fail-on"), "knows the options");
    let man = sharelog(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH sharelog"),
        "roff"
    );
    assert!(page.contains("serve"), "lists the subcommands");
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET over plain HTTP/1.0: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Polls until `done` holds for a response, for at most 20 seconds.
fn eventually(addr: &str, path: &str, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let start = Instant::now();
    loop {
        let (status, body) = get(addr, path);
        if done(status, &body) || start.elapsed() > Duration::from_secs(20) {
            return (status, body);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `sharelog serve` on a free loopback port: (server, "127.0.0.1:PORT").
fn start_server(root: &Path) -> (Server, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_sharelog"))
        .args([
            "serve",
            "--port",
            "0",
            "--root",
            root.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut server = Server(child);
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the address line");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("serving http://ADDR/")
        .to_owned();
    (server, addr)
}

/// Sends `raw` as it is and reads the whole answer: (status, head, body). Status 0: none.
fn raw_request(addr: &str, raw: &[u8]) -> (u16, String, String) {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return (0, String::new(), String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(15)));
    let _ = stream.write_all(raw);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or((response.clone(), String::new()));
    (status, head, body)
}

/// A line of the server's `/proc/PID/status` (Linux), as a number: `Threads`, `VmRSS` (kB).
fn proc_status(server: &Server, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", server.0.id())).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// `serve` as an attacker on another page, or a broken client, would try it (issue 17, item 12).
#[test]
fn serve_holds_up_to_hostile_clients() {
    let (_dir, root) = fixture_copy("basic");
    let (server, addr) = start_server(&root);
    let get = |path: &str| {
        raw_request(
            &addr,
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
    };
    assert_eq!(get("/").0, 200);

    // Only GET and HEAD.
    for method in ["POST", "PUT", "DELETE", "TRACE", "OPTIONS"] {
        let (status, head, _) = raw_request(
            &addr,
            format!("{method} / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 405, "{method}");
        assert!(head.contains("allow: GET, HEAD"), "{head}");
    }
    let (status, _, body) = raw_request(
        &addr,
        format!("HEAD / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!((status, body.as_str()), (200, ""));

    // DNS rebinding: another site's name for this address is refused; loopback names are not.
    let (status, _, body) = raw_request(
        &addr,
        b"GET / HTTP/1.1\r\nHost: rebind.evil.example:8000\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 403);
    assert!(!body.contains("Fixture report"));
    for host in ["127.0.0.1:1@rebind.evil.example", "127.0.0.1:80:80"] {
        let (status, _, _) = raw_request(
            &addr,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(status, 403, "{host}");
    }
    let (status, _, _) = raw_request(
        &addr,
        format!(
            "GET http://rebind.evil.example/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status, 403, "the absolute-form target names the host");
    let (status, _, _) = raw_request(
        &addr,
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nHost: rebind.evil.example\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 400, "two Host headers");
    let port = addr.rsplit(':').next().expect("port");
    let (status, _, _) = raw_request(
        &addr,
        format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 200);

    // A folder without its slash is redirected, so that its relative links work.
    let (status, head, _) = get("/data?x=1");
    assert_eq!(status, 301, "{head}");
    assert!(head.contains("location: /data/?x=1"), "{head}");
    // Not an open redirect: `//data` would be a link to the host `data`.
    let (status, head, _) = get("//data");
    assert_eq!(status, 301, "{head}");
    assert!(
        head.contains("location: /data/\r\n") || head.ends_with("location: /data/"),
        "{head}"
    );

    // A huge request head is refused early, not buffered.
    let rss_before = proc_status(&server, "VmRSS");
    let mut huge = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX-Big: ").into_bytes();
    huge.resize(huge.len() + (64 << 20), b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let (status, _, _) = raw_request(&addr, &huge);
    assert!(status == 431 || status == 0, "{status}");
    if let (Some(before), Some(after)) = (rss_before, proc_status(&server, "VmRSS")) {
        assert!(
            after < before + 32 * 1024,
            "RSS grew from {before} kB to {after} kB"
        );
    }

    // A client that pipelines many requests and never reads blocks nobody else.
    let mut greedy = TcpStream::connect(&addr).expect("connect");
    let mut pipelined = Vec::new();
    for _ in 0..500 {
        pipelined.extend_from_slice(
            format!("GET /data/index.html HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
        );
    }
    let _ = greedy.set_write_timeout(Some(Duration::from_secs(2)));
    let _ = greedy.write_all(&pipelined);
    let started = Instant::now();
    assert_eq!(get("/").0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Many idle connections cost neither a thread each nor the service of a new client for long.
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    assert!(idle.len() >= 250, "{}", idle.len());
    std::thread::sleep(Duration::from_millis(300));
    if let Some(threads) = proc_status(&server, "Threads") {
        assert!(
            threads < 40,
            "{threads} threads for {} idle connections",
            idle.len()
        );
    }
    let started = Instant::now();
    assert_eq!(get("/").0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
    drop(greedy);
}

#[test]
fn serve_shows_the_site_rebuilds_on_change_and_shows_build_errors() {
    let (_dir, root) = fixture_copy("basic");
    let (_server, addr) = start_server(&root);
    assert!(addr.starts_with("127.0.0.1:"), "loopback only: {addr}");

    let (status, page) = get(&addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("Fixture report"));
    assert!(page.contains("/__sharelog/version"), "the reload script");
    let (status, css) = get(&addr, "/assets/style.css");
    assert_eq!(status, 200);
    assert!(!css.contains("__sharelog"), "only HTML gets the script");
    assert_eq!(get(&addr, "/no/such/page.html").0, 404);

    // A change to the content is visible after the rebuild.
    let page = root.join("content/methodology.md");
    let text = std::fs::read_to_string(&page).expect("read");
    std::fs::write(&page, format!("{text}\nA sentence added while serving.\n")).expect("write");
    let (_, body) = eventually(&addr, "/methodology/index.html", |_, b| {
        b.contains("A sentence added while serving.")
    });
    assert!(body.contains("A sentence added while serving."), "rebuilt");

    // A broken input shows the problem instead of a stale site; fixing it brings the site back.
    let report = root.join("report.yaml");
    let good = std::fs::read_to_string(&report).expect("read");
    std::fs::write(&report, format!("{good}\nbogus_key: 1\n")).expect("write");
    let (status, body) = eventually(&addr, "/", |s, _| s == 500);
    assert_eq!(status, 500);
    assert!(body.contains("The build failed"));
    assert!(body.contains("unknown field `bogus_key`"), "{body}");
    std::fs::write(&report, good).expect("write");
    let (status, _) = eventually(&addr, "/", |s, _| s == 200);
    assert_eq!(status, 200);
}

/// The sharelog command lines in `docs/ci.md`, as argument lists (up to a redirection or `||`).
/// A recipe that builds its arguments in a Bash array (`args=(…)`, `args+=(…)`) is read with
/// every argument it may add.
fn documented_commands(doc: &str) -> Vec<Vec<String>> {
    let mut array: Vec<String> = Vec::new();
    let inner = |l: &str| -> Vec<String> {
        let start = l.find('(').map_or(0, |i| i + 1);
        let end = l.rfind(')').unwrap_or(l.len());
        l.get(start..end)
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    doc.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_start_matches("run: ")
        })
        .filter_map(|l| {
            if l.starts_with("args=(") {
                array = inner(l);
            } else if let Some(at) = l.find("args+=(") {
                array.extend(inner(&l[at..]));
            }
            l.starts_with("sharelog ")
                .then(|| l.replace(r#""${args[@]}""#, &array.join(" ")))
        })
        .map(|l| {
            // A command substitution adds `--no-cache` when the run has no cache key.
            let l = l.replace(
                r#"$([ -n "$SHARELOG_CACHE_KEY" ] || echo --no-cache)"#,
                "--no-cache",
            );
            let end = [" >", " ||", " #"]
                .iter()
                .filter_map(|m| l.find(m))
                .min()
                .unwrap_or(l.len());
            l[..end].split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

#[test]
fn the_ci_recipes_parse_and_use_commands_that_exist() {
    let doc =
        std::fs::read_to_string(crate::support::repo().join("docs/ci.md")).expect("docs/ci.md");
    // Every YAML block is valid YAML.
    let mut blocks = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap_or("");
        let parsed: Result<serde_json::Value, _> = serde_saphyr::from_str(yaml);
        assert!(parsed.is_ok(), "{parsed:?}\n{yaml}");
        blocks += 1;
    }
    assert_eq!(blocks, 2, "GitHub Actions and GitLab CI");
    // Every sharelog command line in the recipes is one the CLI accepts.
    let commands = documented_commands(&doc);
    assert!(commands.len() >= 8, "{commands:?}");
    for args in &commands {
        let parsed = <sharelog::cli::Cli as clap::Parser>::try_parse_from(args);
        assert!(parsed.is_ok(), "{args:?}: {parsed:?}");
    }
}

#[test]
fn the_documented_diff_step_passes_on_differences_and_fails_on_errors() {
    let old = fixture("findings");
    let (_dir, new) = changed_copy();
    let bin = env!("CARGO_BIN_EXE_sharelog");
    let step = |old: &Path| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "\"{bin}\" diff --format markdown \"$0\" \"$1\" > /dev/null || [ $? -eq 1 ]"
            ))
            .arg(old)
            .arg(&new)
            .status()
            .expect("sh runs")
            .code()
    };
    assert_eq!(step(&old), Some(0), "differences do not fail the step");
    assert_ne!(step(Path::new("/nonexistent")), Some(0), "an error does");
}

#[test]
fn a_markdown_diff_shows_names_and_messages_as_text_only() {
    // Beta's name carries an image, a link, a mention and an HTML comment that would hide the
    // rest of a pull-request comment.
    let hostile = "Beta ![x](https://evil.example/x.png) [y](https://evil.example) @octo/team <!-- * org/repo#12 \u{202E}\\e[31m";
    let rename = |root: &Path| {
        let partners = root.join("data/partners.yaml");
        let text = std::fs::read_to_string(&partners).expect("read");
        let renamed = text.replace("name: Beta Search", &format!("name: \"{hostile}\""));
        assert_ne!(renamed, text, "the fixture names Beta Search");
        std::fs::write(&partners, renamed).expect("write");
    };
    let (_a, old) = fixture_copy("findings");
    rename(&old);
    let (_b, new) = changed_copy();
    rename(&new);
    let (code, markdown) = diff(&old, &new, "markdown");
    assert_eq!(code, Some(1));
    assert!(markdown.contains("Beta"), "{markdown}");
    for bad in [
        "![", "](", "<!--", "@octo", "<", " *", "#12", "\u{202E}", "\u{1b}",
    ] {
        assert!(!markdown.contains(bad), "`{bad}` in:\n{markdown}");
    }
    // Plain text keeps names on one line, without a terminal's escape sequences.
    let (_, text) = diff(&old, &new, "text");
    assert!(text.contains("Beta"), "{text}");
    for bad in ["\u{202E}", "\u{1b}"] {
        assert!(!text.contains(bad), "`{bad:?}` in:\n{text}");
    }
}

/// Issue 18: a response's text is part of what a diff reports.
#[test]
fn diff_reports_a_changed_response() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = |text: &str| {
        let root = opted_out_root(&dir.path().join(text.len().to_string()), 212);
        std::fs::write(
            root.join("data/responses.yaml"),
            format!("- finding: {{id: opted-out-content-shared, export: e}}\n  count: 212\n  date: 2023-12-01\n  response: {text}\n"),
        )
        .expect("write");
        root
    };
    let (old, new) = (
        root("We asked P to delete them."),
        root("P confirmed it deleted all 212 items."),
    );
    let (code, text) = diff(&old, &new, "text");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "response text “We asked P to delete them.” → “P confirmed it deleted all 212 items.”"
        ),
        "{text}"
    );
}

/// A one-export root whose declared counts give `opted_out`.
fn opted_out_root(dir: &Path, opted_out: u64) -> std::path::PathBuf {
    let root = dir.join(format!("root-{opted_out}"));
    std::fs::create_dir_all(root.join("data/exports")).expect("mkdir");
    std::fs::write(
        root.join("report.yaml"),
        "title: T\nplatform: {name: P}\nperiod: {from: 2023-01-01, to: 2023-12-31}\npublished: 2024-01-01\ncategories: [{id: text, label: Text}]\n",
    )
    .expect("write");
    std::fs::write(
        root.join("data/partners.yaml"),
        "- {id: p, name: P <b>@team</b>, purposes: [ai-training], agreement: {signed: 2023-01-01}, honours_opt_out: yes}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("data/exports/e.yaml"),
        format!("id: e\npartner: p\nexported_at: 2023-05-01\nfilters: {{exclude_opted_out: true}}\ncounts:\n  - {{category: text, year: 2022, items: 5000, opted_out: {opted_out}}}\n"),
    )
    .expect("write");
    root
}

/// Issue 18: a declared `opted_out` going from 212 to 512 names the finding's old and new
/// count and the changed cell, in text and in Markdown.
#[test]
fn diff_names_every_changed_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, new) = (
        opted_out_root(dir.path(), 212),
        opted_out_root(dir.path(), 512),
    );
    let (code, text) = diff(&old, &new, "text");
    assert_eq!(code, Some(1));
    assert!(
        text.contains("~ high opted-out-content-shared p e: count 212 → 512"),
        "{text}"
    );
    assert!(
        text.contains("~ partner=p export=e category=text year=2022: opted_out 212 → 512"),
        "{text}"
    );
    assert!(
        text.contains("data/shared-items.csv: 1 row changed"),
        "{text}"
    );
    let (code, markdown) = diff(&old, &new, "markdown");
    assert_eq!(code, Some(1));
    assert!(markdown.contains("count 212 → 512"), "{markdown}");
    assert!(markdown.contains("opted\\_out 212 → 512"), "{markdown}");
    // The partner's name cannot mention anyone or open HTML in a pull-request comment.
    assert!(
        !markdown.contains("<b>") && !markdown.contains("@team"),
        "{markdown}"
    );
}
