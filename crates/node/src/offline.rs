//! The offline copy on disk (issue 22, part 4): written as a folder and a ZIP beside it, each
//! replacing the old one in one rename so that a reader (or a node dying half-way) never sees
//! half a copy; and read back from either, within the bounds `documents::offline` sets. Made by
//! `web::offline_copy`, sealed by `documents::offline`.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A copy's time as people and logs read it (RFC 3339, whole seconds).
pub fn when(t: time::OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Whether `path` is an offline copy (a folder with a manifest, or a ZIP) rather than a backup.
pub fn is_copy(path: &Path) -> bool {
    if path.is_dir() {
        return path.join(documents::offline::MANIFEST).is_file();
    }
    let mut head = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head)).is_ok()
        && head == *b"PK\x03\x04"
}

/// The files of the copy at `path` (a folder or a ZIP).
pub fn read(path: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    if !path.is_dir() {
        let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.len() > documents::offline::MAX_TOTAL_BYTES {
            bail!("{} is larger than an offline copy may be", path.display());
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return documents::offline::unzip(&bytes).with_context(|| format!("reading {}", path.display()));
    }
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(path.join(&rel)).with_context(|| format!("reading {}", path.display()))? {
            let entry = entry?;
            let name = rel.join(entry.file_name());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(name);
            } else if kind.is_file() {
                let text = name.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
                total += entry.metadata()?.len();
                if out.len() >= documents::offline::MAX_FILES || total > documents::offline::MAX_TOTAL_BYTES {
                    bail!("{} is larger than an offline copy may be", path.display());
                }
                out.insert(text, std::fs::read(entry.path())?);
            }
        }
    }
    Ok(out)
}

/// Writes `files` as the folder `dir` and the ZIP `dir.zip`, each replacing what was there in
/// one rename (the old folder is moved aside first, then removed).
pub fn write(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = dir.file_name().context("the copy needs a folder name")?.to_string_lossy().into_owned();
    let tag = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let fresh = parent.join(format!(".{name}.new-{tag}"));
    for (path, bytes) in files {
        if !documents::offline::safe_path(path) {
            bail!("refusing to write {path:?}");
        }
        let target = fresh.join(path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
    }
    let old = parent.join(format!(".{name}.old-{tag}"));
    if dir.exists() {
        std::fs::rename(dir, &old).with_context(|| format!("moving the old copy {} aside", dir.display()))?;
    }
    std::fs::rename(&fresh, dir).with_context(|| format!("putting the new copy in {}", dir.display()))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing the old copy {}", old.display()))?;
    }
    let zip = parent.join(format!("{name}.zip"));
    let tmp = parent.join(format!(".{name}.zip.new-{tag}"));
    std::fs::write(&tmp, documents::offline::zip(files)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &zip).with_context(|| format!("putting the new ZIP in {}", zip.display()))?;
    Ok(())
}

/// `beredd offline-copy --http URL --token T --out DIR`: fetches the copy from a node, checks
/// its signature (by `trust`, or the key it names, which is printed to compare), and writes it.
pub fn fetch(http: &str, token: &str, out: &Path, trust: Option<&str>) -> Result<()> {
    let url = format!("{}/api/v1/offline-copy", http.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut res = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .with_context(|| format!("fetching {url}"))?;
    if !res.status().is_success() {
        let v: serde_json::Value = res.body_mut().read_json().unwrap_or_default();
        bail!("{url} answered {}: {}", res.status(), v["error"]["message"].as_str().unwrap_or("no message"));
    }
    let bytes = res
        .body_mut()
        .with_config()
        .limit(documents::offline::MAX_TOTAL_BYTES)
        .read_to_vec()
        .context("reading the copy")?;
    let files = documents::offline::unzip(&bytes)?;
    let m = documents::offline::verify(&files, trust).context("the copy from the node does not verify")?;
    let list: Vec<(String, Vec<u8>)> = files.into_iter().collect();
    write(out, &list)?;
    println!(
        "offline copy of node {} (applied index {}, made {}): {} files in {} and {}.zip\nsigned by {}",
        m.node,
        m.applied_index,
        when(m.made_at),
        m.files.len(),
        out.display(),
        out.display(),
        m.key
    );
    Ok(())
}
