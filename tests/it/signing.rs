//! `build --sign KEY` (issue 18, part 5): a minisign signature of `data/SHA256SUMS` that
//! minisign's own verifier accepts, the same bytes on every build, and the public key with the
//! command that checks it on the data page.

use std::path::Path;

use base64::Engine;

use crate::support::{fixture_copy, read, sharelog};

/// An unencrypted minisign key pair (as `minisign -G -W` writes it) from `seed`: (secret key
/// file text, public key base64).
fn key_pair(seed: u8) -> (String, String) {
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([seed; 32]));
    let keynum = [seed.wrapping_add(7); 8];
    let mut sk = b"Ed\0\0B2".to_vec();
    sk.extend_from_slice(&[0; 32 + 16]);
    sk.extend_from_slice(&keynum);
    sk.extend_from_slice(pair.sk.as_ref());
    sk.extend_from_slice(&[0; 32]);
    let mut pk = b"Ed".to_vec();
    pk.extend_from_slice(&keynum);
    pk.extend_from_slice(pair.pk.as_ref());
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    (
        format!("untrusted comment: minisign secret key\n{}\n", b64(&sk)),
        b64(&pk),
    )
}

fn signed_build(root: &Path, key: &Path, out: &Path) -> std::process::Output {
    sharelog(&[
        "build",
        "--root",
        root.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--sign",
        key.to_str().expect("utf-8"),
    ])
}

#[test]
fn a_signed_build_verifies_with_minisign_and_is_the_same_every_time() {
    let (dir, root) = fixture_copy("basic");
    let (secret, public) = key_pair(3);
    let key = dir.path().join("minisign.key");
    std::fs::write(&key, secret).expect("write");
    let report = root.join("report.yaml");
    let text = std::fs::read_to_string(&report).expect("read");
    std::fs::write(&report, format!("{text}signing_key: {public}\n")).expect("write");

    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let output = signed_build(&root, &key, out);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let signature = std::fs::read(a.join("data/SHA256SUMS.minisig")).expect("signature");
    assert_eq!(
        signature,
        std::fs::read(b.join("data/SHA256SUMS.minisig")).expect("again")
    );

    let sums = std::fs::read(a.join("data/SHA256SUMS")).expect("sums");
    let public_key = minisign::PublicKey::from_base64(&public).expect("public key");
    let boxed = minisign::SignatureBox::from_string(&String::from_utf8(signature).expect("text"))
        .expect("a signature file");
    minisign::verify(
        &public_key,
        &boxed,
        std::io::Cursor::new(&sums),
        true,
        false,
        false,
    )
    .expect("minisign verifies it");
    // A changed SHA256SUMS does not verify.
    let mut changed = sums.clone();
    changed[0] ^= 1;
    assert!(
        minisign::verify(
            &public_key,
            &boxed,
            std::io::Cursor::new(&changed),
            true,
            false,
            false
        )
        .is_err()
    );
    let page = read(&a, "data/index.html");
    assert!(
        page.contains(&format!("minisign -Vm SHA256SUMS -P {public}")),
        "{page}"
    );
}

#[test]
fn a_key_that_is_not_the_published_one_is_refused() {
    let (dir, root) = fixture_copy("basic");
    let (secret, _) = key_pair(3);
    let (_, other_public) = key_pair(9);
    let key = dir.path().join("minisign.key");
    std::fs::write(&key, secret).expect("write");
    let report = root.join("report.yaml");
    let text = std::fs::read_to_string(&report).expect("read");
    std::fs::write(&report, format!("{text}signing_key: {other_public}\n")).expect("write");
    let out = dir.path().join("site");
    let output = signed_build(&root, &key, &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not verify"));
    assert!(!out.exists());
    // Nor is a file that is no key.
    std::fs::write(&key, "not a key\n").expect("write");
    let output = signed_build(&root, &key, &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a minisign secret key"));
}

/// A signed release carried by `--previous` keeps its signature, and a history that holds one
/// is carried again: signed releases chain like unsigned ones.
#[test]
fn signed_releases_keep_their_signatures_through_the_history() {
    let (dir, root) = fixture_copy("basic");
    let (secret, public) = key_pair(5);
    let key = dir.path().join("minisign.key");
    std::fs::write(&key, secret).expect("write");
    let report = root.join("report.yaml");
    let text = std::fs::read_to_string(&report).expect("read");
    let mut sites: Vec<std::path::PathBuf> = Vec::new();
    for (i, date) in ["2024-01-15", "2024-02-15", "2024-03-15"]
        .iter()
        .enumerate()
    {
        let dated: String = text
            .lines()
            .map(|l| {
                if l.starts_with("published:") {
                    format!("published: {date}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&report, format!("{dated}signing_key: {public}\n")).expect("write");
        let out = dir.path().join(format!("s{i}"));
        let mut args = vec![
            "build".to_owned(),
            "--quiet".to_owned(),
            "--no-cache".to_owned(),
            "--root".to_owned(),
            root.display().to_string(),
            "--out".to_owned(),
            out.display().to_string(),
            "--sign".to_owned(),
            key.display().to_string(),
        ];
        if let Some(previous) = sites.last() {
            args.extend(["--previous".to_owned(), previous.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = sharelog(&args);
        assert!(
            output.status.success(),
            "{date}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        sites.push(out);
    }
    // A release whose signature was replaced, or removed, is not carried.
    let refuse = |name: &str, change: &dyn Fn(&Path), says: &str| {
        let copy = dir.path().join(name);
        crate::support::copy_tree(&sites[1], &copy);
        change(&copy.join("data/SHA256SUMS.minisig"));
        let output = sharelog(&[
            "build",
            "--quiet",
            "--no-cache",
            "--root",
            root.to_str().expect("utf-8"),
            "--out",
            dir.path()
                .join(format!("{name}-out"))
                .to_str()
                .expect("utf-8"),
            "--previous",
            copy.to_str().expect("utf-8"),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
    };
    refuse(
        "garbage",
        &|f| std::fs::write(f, "garbage").expect("write"),
        "SHA256SUMS.minisig is not a minisign signature",
    );
    refuse(
        "other-file",
        &|f| {
            std::fs::copy(sites[0].join("data/SHA256SUMS.minisig"), f).expect("copy");
        },
        "does not verify with the signing key its data/report.json names",
    );
    refuse(
        "removed",
        &|f| std::fs::remove_file(f).expect("remove"),
        "says it was signed, but its SHA256SUMS.minisig is missing",
    );

    let public_key = minisign::PublicKey::from_base64(&public).expect("public key");
    for date in ["2024-01-15", "2024-02-15"] {
        let data = sites[2].join(format!("releases/{date}/data"));
        let signature = std::fs::read_to_string(data.join("SHA256SUMS.minisig"))
            .unwrap_or_else(|e| panic!("{date}'s signature is carried: {e}"));
        let boxed = minisign::SignatureBox::from_string(&signature).expect("a signature");
        minisign::verify(
            &public_key,
            &boxed,
            std::io::Cursor::new(std::fs::read(data.join("SHA256SUMS")).expect("sums")),
            true,
            false,
            false,
        )
        .expect("the carried signature verifies");
    }
}
