//! `build --sign KEY`: a minisign signature of `data/SHA256SUMS`, so that a reader holding the
//! report's public key can check that every download is the one the platform published
//! (`minisign -Vm SHA256SUMS -P KEY`).
//!
//! The key file is read with the `minisign` crate (its format, its scrypt encryption and its
//! checksum; the password, if any, comes from `SHARELOG_SIGN_PASSWORD`, never a prompt). The
//! signature is minisign's pre-hashed format (BLAKE2b-512 of the file, then Ed25519), made with
//! plain deterministic Ed25519 instead of the crate's randomised signing, so that the same inputs
//! give the same signature byte for byte, like every other file of the site. The `minisign`
//! crate's verifier checks it before it is written, and CI checks it with the `minisign` tool.

use std::path::Path;

use blake2::{Blake2b512, Digest};

use crate::error::{Error, Problem, Result};

/// The environment variable with the secret key's password (empty or unset: an unencrypted key).
pub const PASSWORD_ENV: &str = "SHARELOG_SIGN_PASSWORD";

/// minisign's algorithm id for a pre-hashed Ed25519 signature.
const PREHASHED: &[u8; 2] = b"ED";

fn key_problem(file: &Path, message: String) -> Error {
    Error::invalid(vec![
        Problem::new(file.display().to_string(), message).help(
            "give a minisign secret key file (`minisign -G`), with its password in SHARELOG_SIGN_PASSWORD if it has one",
        ),
    ])
}

/// The signature file of `data` (the bytes of `SHA256SUMS`) under the minisign secret key in
/// `key_file`, with `trusted` as its trusted comment. `public_key`, when the report publishes
/// one, must be the key's own.
pub(crate) fn sign(
    data: &[u8],
    key_file: &Path,
    trusted: &str,
    public_key: Option<&str>,
) -> Result<Vec<u8>> {
    let bytes = crate::fs::read_regular(key_file, 64 << 10, true)
        .map_err(|e| key_problem(key_file, format!("cannot be read: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| key_problem(key_file, "is not a minisign key (not text)".to_owned()))?;
    let (keynum, secret) = secret_key(&text, key_file)?;
    let secret = ed25519_compact::SecretKey::from_slice(&secret)
        .map_err(|e| key_problem(key_file, format!("holds an unusable Ed25519 key: {e}")))?;

    let prehash = Blake2b512::digest(data);
    let signature = secret.sign(prehash, None);
    let mut global = signature.to_vec();
    global.extend_from_slice(trusted.as_bytes());
    let global_signature = secret.sign(&global, None);

    let mut line = PREHASHED.to_vec();
    line.extend_from_slice(&keynum);
    line.extend_from_slice(signature.as_ref());
    let b64 = |b: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let file = format!(
        "untrusted comment: signature of SHA256SUMS, made by sharelog\n{}\ntrusted comment: {trusted}\n{}\n",
        b64(&line),
        b64(global_signature.as_ref())
    );

    // Checked with minisign's own verifier, against the published key when there is one.
    let own_public = {
        let mut bytes = b"Ed".to_vec();
        bytes.extend_from_slice(&keynum);
        bytes.extend_from_slice(secret.public_key().as_ref());
        b64(&bytes)
    };
    let public = match public_key {
        Some(k) => minisign::PublicKey::from_base64(k).map_err(|e| {
            Error::invalid(vec![
                Problem::new(
                    "report.yaml",
                    format!("signing_key is not a minisign public key: {e}"),
                )
                .help("copy the second line of the public key file minisign -G wrote"),
            ])
        })?,
        None => minisign::PublicKey::from_base64(&own_public)
            .map_err(|e| Error::Internal(format!("the key's public half: {e}")))?,
    };
    let boxed = minisign::SignatureBox::from_string(&file)
        .map_err(|e| Error::Internal(format!("the signature cannot be read back: {e}")))?;
    minisign::verify(
        &public,
        &boxed,
        std::io::Cursor::new(data),
        true,
        false,
        false,
    )
    .map_err(|e| {
        Error::invalid(vec![
            Problem::new(
                key_file.display().to_string(),
                format!("the signature does not verify with the report's signing_key: {e}"),
            )
            .help("sign with the secret key whose public key report.yaml publishes as signing_key"),
        ])
    })?;
    Ok(file.into_bytes())
}

/// The key id and the Ed25519 secret key (64 bytes) of a minisign secret key file: an
/// unencrypted one (`minisign -G -W`) read directly with its checksum checked, an encrypted one
/// through the `minisign` crate with the password from [`PASSWORD_ENV`].
fn secret_key(text: &str, key_file: &Path) -> Result<([u8; 8], Vec<u8>)> {
    use base64::Engine;
    let line = text.lines().nth(1).unwrap_or_default().trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|_| key_problem(key_file, "is not a minisign secret key".to_owned()))?;
    // Algorithms (2 + 2 + 2), KDF salt (32), KDF limits (8 + 8), key id (8), secret key (64),
    // checksum (32).
    if bytes.len() != 158 || &bytes[..2] != b"Ed" {
        return Err(key_problem(
            key_file,
            "is not a minisign secret key".to_owned(),
        ));
    }
    let raw = if bytes[2..4] == [0, 0] {
        // Unencrypted: the key is whole when its public half is the one its seed gives.
        let seed = ed25519_compact::Seed::from_slice(&bytes[62..94])
            .map_err(|e| key_problem(key_file, format!("holds an unusable key: {e}")))?;
        let derived = ed25519_compact::KeyPair::from_seed(seed);
        if derived.pk.as_ref() != &bytes[94..126] {
            return Err(key_problem(
                key_file,
                "is damaged: its two halves do not match".to_owned(),
            ));
        }
        bytes
    } else {
        let password = std::env::var(PASSWORD_ENV).unwrap_or_default();
        if password.is_empty() {
            return Err(key_problem(
                key_file,
                format!("is encrypted, and {PASSWORD_ENV} is not set"),
            ));
        }
        minisign::SecretKeyBox::from_string(text)
            .and_then(|b| b.into_secret_key(Some(password)))
            .map_err(|e| key_problem(key_file, format!("cannot be opened: {e}")))?
            .to_bytes()
    };
    let mut keynum = [0u8; 8];
    keynum.copy_from_slice(&raw[54..62]);
    Ok((keynum, raw[62..126].to_vec()))
}
