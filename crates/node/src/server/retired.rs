//! Old members that come back after a forced new cluster (or after being removed): their ids are
//! retired in the node directory, so every Raft call they make is refused with the reason, and a
//! node that hears that about itself stops and never starts again with that data.
//!
//! Without this, two old members started again would still be a majority of their old
//! membership and could elect a leader among themselves: a second cluster beside the new one.

use super::Stop;
use anyhow::{Result, bail};
use domain::StateViewExt;
use raft_store::{NodeId, RocksView};
use std::path::Path;
use tokio::sync::watch;

/// The gRPC metadata key that marks a refusal as "you are retired".
const MARK: &str = "beredd-retired";

/// Written into a retired node's data folder; its words are the reason.
const FILE: &str = "RETIRED";

/// The refusal for a Raft call from `from`, a retired node: when and by whom, as the node
/// directory says.
pub fn refusal(view: &RocksView, from: NodeId) -> tonic::Status {
    let history = view.node(from).ok().flatten().map(|n| n.history).unwrap_or_default();
    let how = history
        .iter()
        .rev()
        .find(|e| e.what.starts_with("retired"))
        .map(|e| {
            let at = e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            let what =
                if e.what == "retired_by_recovery" { "when a new cluster was forced" } else { "when it was removed" };
            match &e.by {
                Some(by) => format!(" {what} at {at}, confirmed by {by}"),
                None => format!(" {what} at {at}"),
            }
        })
        .unwrap_or_default();
    let msg = format!(
        "node {from} was retired from this cluster{how}: its id is never used again, and its data belongs to the old \
         cluster (nothing of it merges). Move its data folder aside and join again by invitation (`beredd join`)"
    );
    let mut status = tonic::Status::permission_denied(msg);
    status.metadata_mut().insert(MARK, tonic::metadata::MetadataValue::from_static("1"));
    status
}

/// Called with every failed Raft call's status: a refusal saying this node is retired stops it.
pub fn heard(status: &tonic::Status, stop: &watch::Sender<Option<Stop>>) {
    if status.metadata().get(MARK).is_some() {
        let reason = status.message().to_owned();
        stop.send_if_modified(|s| {
            if s.is_some() {
                return false;
            }
            *s = Some(Stop::Retired(reason));
            true
        });
    }
}

/// Keeps the reason in the data folder, so the node refuses to start with that data again.
pub fn remember(data_dir: &Path, reason: &str) {
    if let Err(e) = std::fs::write(data_dir.join(FILE), format!("{reason}\n")) {
        tracing::error!("could not write {}: {e}", data_dir.join(FILE).display());
    }
}

/// Refuses to start a node its cluster retired.
pub fn refuse_start(data_dir: &Path) -> Result<()> {
    let p = data_dir.join(FILE);
    if let Ok(reason) = std::fs::read_to_string(&p) {
        bail!("refusing to start: {} (recorded in {})", reason.trim(), p.display());
    }
    Ok(())
}
